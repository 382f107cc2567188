//! The command line: argument parsing (clap) and one module per command.

pub mod as_of;
pub mod audit;
pub mod directory;
pub mod error;
pub mod history;
pub mod lag;
pub mod out;
pub mod progress;
pub mod reconcile;
pub mod redecide;
pub mod relay;
pub mod replay;
pub mod reviews;
pub mod runs;
pub mod serve;
pub mod text;
pub mod tokens;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use runproof_domain::actor::ActorKind;
use runproof_domain::{Lang, ReasonCode};

use crate::app::App;
use crate::bench::{self, BenchArgs};
use crate::clock::SystemClock;
use crate::database::{self, DatabaseTarget, DEFAULT_DATABASE_URL, MIGRATOR};
use crate::demo;
use crate::writer::Lag;
use error::CliError;
use out::Out;
use text::UiText;

/// runproof — an event-sourced reconciliation engine for long-running operation runs.
///
/// Every run transition is an event; `operation_runs` is rebuilt from the log; stuck
/// runs are proven from domain truth or ended with a reason.
#[derive(Debug, Parser)]
#[command(name = "runproof", version, propagate_version = true)]
pub struct Cli {
    /// PostgreSQL connection string.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// Machine-readable JSON output (list, show, history, replay, …).
    #[arg(long, global = true)]
    pub json: bool,
    /// Language of everything printed: en or de.
    #[arg(long, global = true, default_value = "en", value_parser = parse_lang)]
    pub lang: Lang,
    /// Seconds a write waits for the views to show it (read-your-writes). When they do
    /// not in time, the command says so and names what holds them back.
    #[arg(long, global = true, env = "RUNPROOF_READ_YOUR_WRITES_TIMEOUT", default_value = "10", value_parser = parse_seconds, value_name = "SECONDS")]
    pub read_your_writes_timeout: Duration,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or upgrade the database schema (idempotent).
    Migrate,
    /// Look at operation runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// A run's or a review's events in order: position, time, actor, each decision with
    /// its evidence, and the linked streams (the reviews a run touched, the runs that
    /// drafted a review).
    History {
        /// The run's or the review's id.
        id: String,
        /// Only if this actor may see it (else "not found").
        #[arg(long)]
        actor: Option<String>,
        /// Only the events up to this point: a log position (the `position` this command
        /// prints; the log up to that event in commit order) or a time (RFC 3339, e.g.
        /// 2026-03-01T03:12:00Z, UTC without an offset: the log up to the last event
        /// recorded at or before it). A position beyond the log or a future time is
        /// refused.
        #[arg(long, value_name = "POSITION|TIME", allow_hyphen_values = true)]
        until: Option<String>,
    },
    /// Rebuild every projection from the log and swap it in; with --verify, compare instead.
    Replay {
        /// Rebuild into shadow tables and report every row that differs from the live
        /// tables (exit code 1 on any difference); changes nothing.
        #[arg(long)]
        verify: bool,
        /// Seconds the swap of each rebuilt projection waits for readers of its live
        /// table (they queue behind the swap meanwhile) before it lets go and retries;
        /// after three attempts the replay gives up with `replay.lock_timeout`.
        #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_positive_seconds)]
        lock_timeout: Duration,
    },
    /// Keep the projections up to date: follow the log until stopped.
    Project {
        /// Catch up once, print each projection's position (also of a stopped one), and
        /// exit (exit code 3 when a projection is stopped).
        #[arg(long)]
        once: bool,
        /// Seconds between polls of the log.
        #[arg(long, default_value_t = 1)]
        interval: u64,
        /// Warn when no projection advanced for this many seconds while events wait
        /// above the read horizon, naming what holds it.
        #[arg(long, default_value_t = 30, value_name = "SECONDS")]
        stall_after: u64,
        #[command(flatten)]
        signing: audit::PeriodicSigningArgs,
        /// With --once: also report how far the NATS relay of this JetStream stream is
        /// behind the log (read from the stream's last message).
        #[arg(long, value_name = "STREAM", requires = "once")]
        relay_stream: Option<crate::relay::subject::StreamName>,
        /// The NATS server of --relay-stream.
        #[arg(long, env = "RUNPROOF_NATS_URL", default_value = relay::DEFAULT_NATS_URL, value_name = "URL")]
        nats_url: String,
    },
    /// Reconcile stuck runs: adapters prove outcomes from domain truth; stale runs nobody
    /// can prove are ended with a reason.
    #[command(group(clap::ArgGroup::new("mode").required(true).args(["once", "watch", "explain"])))]
    Reconcile {
        /// One pass, then exit (exit 0 also when nothing was stale).
        #[arg(long)]
        once: bool,
        /// Pass after pass until Ctrl-C or SIGTERM (stops after the current pass).
        #[arg(long)]
        watch: bool,
        /// Seconds between passes with --watch.
        #[arg(long, default_value_t = 60, requires = "watch")]
        interval: u64,
        /// What the adapter or the stale path would decide about this run now, and on
        /// which evidence; writes nothing.
        #[arg(long, value_name = "RUN_ID")]
        explain: Option<String>,
    },
    /// Workspaces: the tenants everything belongs to.
    #[command(subcommand)]
    Workspaces(WorkspacesCommand),
    /// Managed environments inside a workspace.
    #[command(subcommand)]
    Environments(EnvironmentsCommand),
    /// Actors, their roles and their workspace memberships.
    #[command(subcommand)]
    Actors(ActorsCommand),
    /// API tokens: issue (printed once), revoke, list.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Evidence snapshots: what reviews are composed from.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Environment reviews: compose, look at, publish, archive.
    #[command(subcommand)]
    Reviews(ReviewsCommand),
    /// Execute queued compose runs (any number of workers may run; each run executes once).
    Worker {
        /// Execute until the queue is empty, then exit.
        #[arg(long)]
        once: bool,
        /// Seconds between polls of the queue.
        #[arg(long, default_value_t = 2)]
        interval: u64,
        /// Runs started in one commit and completed in one commit (1 to 64; 1: each run
        /// alone). Fewer commits per run, faster; a worker that dies strands up to this
        /// many runs until the reconciler decides them.
        #[arg(long, default_value_t = crate::reviews::worker::COMPOSE_BATCH as u32,
              value_parser = clap::value_parser!(u32).range(1..=64))]
        batch: u32,
    },
    /// Run the engine as a service: the HTTP API with the projector, the compose worker and
    /// the reconciler, each of which can be switched off.
    Serve(serve::ServeArgs),
    /// Create the database if needed, migrate it, and record a small realistic set of runs.
    Demo,
    /// Measure runproof against raw-SQL baselines on a scratch database.
    Bench(BenchArgs),
    /// Relay the log to an event bus, in commit order, every event exactly once.
    #[command(subcommand)]
    Relay(relay::RelayCommand),
    /// The tamper-evident log: signer keys, signed checkpoints of the Merkle tree over
    /// every event, verification (docs/audit.md).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Runs, newest first. Filters combine.
    List {
        /// Only this workspace's runs.
        #[arg(long)]
        workspace: Option<String>,
        /// Only runs in this managed environment.
        #[arg(long)]
        environment: Option<String>,
        /// Only runs in this status (queued, running, completed).
        #[arg(long)]
        status: Option<String>,
        /// Only runs with this outcome (pending, succeeded, partially_succeeded, blocked,
        /// failed).
        #[arg(long)]
        outcome: Option<String>,
        /// Only runs that need attention: failed, blocked or partially succeeded, or
        /// still queued or running past their type's stale threshold.
        #[arg(long)]
        needs_attention: bool,
        /// Only runs of this type (e.g. restore.execute).
        #[arg(long = "type")]
        run_type: Option<String>,
        /// Only what this actor may see (runs of workspaces it belongs to).
        #[arg(long)]
        actor: Option<String>,
        /// At most this many runs (1 to 1000; a larger value is refused).
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Every run's status as the engine believed it at this point: a time (RFC 3339,
        /// e.g. 2026-03-01T03:12:00Z, UTC without an offset) or a log position. The log
        /// up to there is folded into a temporary table (progress on stderr on a
        /// terminal) and listed with the same filters; needs-attention is judged at that
        /// time. A future time or a position beyond the log is refused.
        #[arg(long, value_name = "TIME|POSITION", allow_hyphen_values = true)]
        at: Option<String>,
    },
    /// One run: the decision first (status, outcome, why), then diagnostics, then raw context.
    Show {
        /// The run's id.
        run_id: String,
        /// Only if this actor may see it (else "not found").
        #[arg(long)]
        actor: Option<String>,
        /// The run as the log stood at this point: a log position (as `history` prints
        /// it; the log up to that event in commit order) or a time (RFC 3339, e.g.
        /// 2026-03-01T03:12:00Z, UTC without an offset: the log up to the last event
        /// recorded at or before it). A run that had no event by then "did not exist";
        /// a position beyond the log or a future time is refused.
        #[arg(long, value_name = "POSITION|TIME", allow_hyphen_values = true)]
        at: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkspacesCommand {
    /// Create a workspace; prints its id.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvironmentsCommand {
    /// Create a managed environment in a workspace; prints its id.
    Create {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ActorsCommand {
    /// Create an actor; prints its id. Without a flag, a plain member: it acts on the
    /// workspaces it belongs to.
    Create {
        #[arg(long)]
        name: String,
        /// A platform operator: sees every workspace.
        #[arg(long, conflicts_with = "service")]
        operator: bool,
        /// A service actor (a job system): may drive run lifecycles in the workspaces it
        /// is a member of.
        #[arg(long)]
        service: bool,
    },
    /// Grant an actor a role (recorded as an event; granting a held role records nothing).
    Grant {
        #[arg(long)]
        actor: String,
        /// The role: operator (sees every workspace) or feed (a service actor that reads
        /// every workspace's events from the feed).
        #[arg(long)]
        role: String,
    },
    /// Revoke a role from an actor (recorded as an event).
    RevokeRole {
        #[arg(long)]
        actor: String,
        /// The role: operator or feed.
        #[arg(long)]
        role: String,
    },
    /// Make an actor a member of a workspace.
    AddMember {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        actor: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Capture a findings document (JSON) as the environment's newest evidence snapshot.
    /// Invalid JSON or an unknown environment records nothing.
    Capture {
        #[arg(long)]
        environment: String,
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewsCommand {
    /// Create or refresh an environment's review for an actor: prints "queued", "already
    /// running" or "already available" with the id to open.
    Compose {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        environment: String,
        #[arg(long)]
        actor: String,
    },
    /// Reviews, newest first.
    List {
        #[arg(long)]
        workspace: Option<String>,
        /// Only reviews of this managed environment.
        #[arg(long)]
        environment: Option<String>,
        /// Only reviews in this status (draft, ready, failed, published, archived,
        /// superseded).
        #[arg(long)]
        status: Option<String>,
        /// Only what this actor may see.
        #[arg(long)]
        actor: Option<String>,
        /// At most this many reviews (1 to 1000; a larger value is refused).
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// The review's events in order, with the runs that drafted it (the same as
    /// `runproof history REVIEW_ID`, for reviews only).
    History {
        review_id: String,
        #[arg(long)]
        actor: Option<String>,
    },
    /// One review with its composed content.
    Show {
        review_id: String,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Publish a ready review; the environment's previously published review is superseded.
    Publish {
        review_id: String,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Archive a published review.
    Archive {
        review_id: String,
        #[arg(long)]
        actor: Option<String>,
    },
}

/// A positive number of seconds, fractions allowed (`0.5`).
fn parse_positive_seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|secs| *secs > 0.0)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("{s} is not a positive number of seconds"))
}

/// A number of seconds, zero or more, fractions allowed.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("{s} is not a number of seconds"))
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
        .map_err(|e: runproof_domain::lang::UnknownLang| e.to_string())
}

/// Opens the database for a command, and remembers the services it opened so that a
/// lag their writes noted can be reported once the command is done.
pub struct Opener {
    target: DatabaseTarget,
    read_your_writes: Duration,
    opened: std::sync::OnceLock<App>,
}

impl Opener {
    pub fn new(target: DatabaseTarget, read_your_writes: Duration) -> Self {
        Opener {
            target,
            read_your_writes,
            opened: std::sync::OnceLock::new(),
        }
    }

    pub fn target(&self) -> &DatabaseTarget {
        &self.target
    }

    /// Connects to a migrated database (every command but `migrate` and `demo`).
    pub async fn open(&self) -> Result<App, CliError> {
        let app = App::open(&self.target, Arc::new(SystemClock))
            .await
            .map_err(|e| CliError::from_database(&e, &self.target))?
            .with_read_your_writes(Some(self.read_your_writes));
        // Clones share the writer's lag note.
        let _ = self.opened.set(app.clone());
        Ok(app)
    }

    /// The lag the opened services' last write noted, if any.
    pub fn lag(&self) -> Option<Lag> {
        self.opened.get().and_then(App::lag)
    }
}

/// Runs the parsed command. A write whose views did not show it in time is reported on
/// stderr afterwards (also when the command failed later), naming what holds them back.
pub async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let out = Out {
        json: cli.json,
        lang: cli.lang,
    };
    let target = DatabaseTarget::parse(&cli.database_url)
        .map_err(|_| CliError::input(ReasonCode::DbInvalidUrl, vec![]))?;
    let opener = Opener::new(target, cli.read_your_writes_timeout);
    let mut command = cli.command;
    if let Command::Bench(args) = &mut command {
        // The memory benchmark starts this binary on the scratch database.
        args.database_url = cli.database_url.clone();
    }
    let result = dispatch(command, &opener, &out).await;
    if let Some(lag) = opener.lag() {
        lag::warn(&lag, &out);
    }
    result
}

async fn dispatch(command: Command, opener: &Opener, out: &Out) -> Result<ExitCode, CliError> {
    let target = opener.target();
    let out = *out;
    match command {
        Command::Migrate => migrate(target, &out).await,
        Command::Demo => demo::run(target, &out).await.map(|_| ExitCode::SUCCESS),
        Command::Serve(args) => serve::serve(target, args, &out)
            .await
            .map(|_| ExitCode::SUCCESS),
        Command::Bench(args) => bench::run(target, args, &out)
            .await
            .map(|_| ExitCode::SUCCESS),
        Command::Runs(RunsCommand::List {
            workspace,
            environment,
            status,
            outcome,
            needs_attention,
            run_type,
            actor,
            limit,
            at,
        }) => {
            let filter = runs::parse_filter(&runs::ListArgs {
                workspace: workspace.as_deref(),
                environment: environment.as_deref(),
                status: status.as_deref(),
                outcome: outcome.as_deref(),
                run_type: run_type.as_deref(),
                actor: actor.as_deref(),
                limit,
            })?;
            let at = at.as_deref().map(as_of::parse).transpose()?;
            let app = opener.open().await?;
            match at {
                Some(at) => as_of::list(&app, filter, needs_attention, at, &out).await,
                None => runs::list(&app, filter, needs_attention, &out).await,
            }
            .map(|_| ExitCode::SUCCESS)
        }
        Command::Runs(RunsCommand::Show { run_id, actor, at }) => {
            let id = runs::parse_id(&run_id)?;
            let actor = actor.as_deref().map(runs::parse_id).transpose()?;
            let at = at.as_deref().map(as_of::parse).transpose()?;
            let app = opener.open().await?;
            match at {
                Some(at) => as_of::show(&app, id, actor, at, &out).await,
                None => runs::show(&app, id, actor, &out).await,
            }
            .map(|_| ExitCode::SUCCESS)
        }
        Command::History { id, actor, until } => {
            let id = runs::parse_id(&id)?;
            let actor = actor.as_deref().map(runs::parse_id).transpose()?;
            let until = until.as_deref().map(as_of::parse).transpose()?;
            let app = opener.open().await?;
            let cut = match until {
                Some(until) => Some(as_of::resolve(&app, until).await?),
                None => None,
            };
            history::history_upto(&app, id, actor, None, cut.as_ref(), &out)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Replay {
            verify,
            lock_timeout,
        } => {
            let app = opener.open().await?;
            replay::replay(&app, verify, lock_timeout, &out).await
        }
        Command::Reconcile {
            once: _,
            watch,
            interval,
            explain,
        } => {
            let run_id = explain.as_deref().map(runs::parse_id).transpose()?;
            let app = opener.open().await?;
            match (run_id, watch) {
                (Some(id), _) => reconcile::explain(&app, id, &out).await,
                (None, true) => reconcile::watch(&app, interval, &out).await,
                (None, false) => reconcile::once(&app, &out).await,
            }
            .map(|_| ExitCode::SUCCESS)
        }
        Command::Workspaces(WorkspacesCommand::Create { name }) => {
            let app = opener.open().await?;
            directory::create_workspace(&app, &name, &out)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Environments(EnvironmentsCommand::Create { workspace, name }) => {
            let workspace = runs::parse_id(&workspace)?;
            let app = opener.open().await?;
            directory::create_environment(&app, workspace, &name, &out)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Actors(ActorsCommand::Create {
            name,
            operator,
            service,
        }) => {
            let kind = if service {
                ActorKind::Service
            } else {
                ActorKind::Member
            };
            let app = opener.open().await?;
            directory::create_actor(&app, &name, kind, operator, &out)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Actors(ActorsCommand::Grant { actor, role }) => {
            let (actor, role) = (runs::parse_id(&actor)?, directory::parse_role(&role)?);
            let app = opener.open().await?;
            directory::change_role(&app, actor, role, true, &out)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Actors(ActorsCommand::RevokeRole { actor, role }) => {
            let (actor, role) = (runs::parse_id(&actor)?, directory::parse_role(&role)?);
            let app = opener.open().await?;
            directory::change_role(&app, actor, role, false, &out)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Audit(command) => audit::run(command, opener, &out).await,
        Command::Relay(command) => relay::run(command, target, &out)
            .await
            .map(|_| ExitCode::SUCCESS),
        Command::Tokens(command) => tokens::run(command, opener, &out)
            .await
            .map(|_| ExitCode::SUCCESS),
        Command::Actors(ActorsCommand::AddMember { workspace, actor }) => {
            let (workspace, actor) = (runs::parse_id(&workspace)?, runs::parse_id(&actor)?);
            let app = opener.open().await?;
            directory::add_member(&app, workspace, actor, &out)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Evidence(EvidenceCommand::Capture { environment, file }) => {
            let environment = runs::parse_id(&environment)?;
            // Read and parse the file before touching the database.
            let document = directory::read_document(&file)?;
            let app = opener.open().await?;
            directory::capture_evidence(&app, environment, document, &out)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Reviews(cmd) => {
            let optional = |v: Option<String>| v.as_deref().map(runs::parse_id).transpose();
            match cmd {
                ReviewsCommand::Compose {
                    workspace,
                    environment,
                    actor,
                } => {
                    let (w, e, a) = (
                        runs::parse_id(&workspace)?,
                        runs::parse_id(&environment)?,
                        runs::parse_id(&actor)?,
                    );
                    let app = opener.open().await?;
                    reviews::compose(&app, w, e, a, &out).await
                }
                ReviewsCommand::List {
                    workspace,
                    environment,
                    status,
                    actor,
                    limit,
                } => {
                    let mut filter = reviews::parse_review_filter(&reviews::ReviewListArgs {
                        workspace: workspace.as_deref(),
                        environment: environment.as_deref(),
                        status: status.as_deref(),
                        limit,
                    })?;
                    filter.visible_to = optional(actor)?;
                    let app = opener.open().await?;
                    reviews::list(&app, &filter, &out).await
                }
                ReviewsCommand::History { review_id, actor } => {
                    let (id, a) = (runs::parse_id(&review_id)?, optional(actor)?);
                    let app = opener.open().await?;
                    history::history(&app, id, a, Some(crate::history::StreamKind::Review), &out)
                        .await
                }
                ReviewsCommand::Show { review_id, actor } => {
                    let (id, a) = (runs::parse_id(&review_id)?, optional(actor)?);
                    let app = opener.open().await?;
                    reviews::show(&app, id, a, &out).await
                }
                ReviewsCommand::Publish { review_id, actor } => {
                    let (id, a) = (runs::parse_id(&review_id)?, optional(actor)?);
                    let app = opener.open().await?;
                    reviews::publish(&app, id, a, &out).await
                }
                ReviewsCommand::Archive { review_id, actor } => {
                    let (id, a) = (runs::parse_id(&review_id)?, optional(actor)?);
                    let app = opener.open().await?;
                    reviews::archive(&app, id, a, &out).await
                }
            }
            .map(|_| ExitCode::SUCCESS)
        }
        Command::Worker {
            once,
            interval,
            batch,
        } => {
            let app = opener.open().await?;
            reviews::worker(&app, once, interval, batch as usize, &out)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Project {
            once,
            interval,
            stall_after,
            signing,
            relay_stream,
            nats_url,
        } => {
            let app = opener.open().await?;
            let checkpointer = audit::checkpointer(&signing, &app)?;
            let relayed = relay_stream.map(|stream| (nats_url, stream));
            project(
                &app,
                once,
                interval,
                stall_after,
                checkpointer,
                relayed,
                &out,
            )
            .await
            .map(|_| ExitCode::SUCCESS)
        }
    }
}

async fn migrate(target: &DatabaseTarget, out: &Out) -> Result<ExitCode, CliError> {
    let pool = target
        .connect(2)
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    let applied = database::migrate(&pool)
        .await
        .map_err(|e| CliError::from_database(&e, target))?;
    let version = MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
        .to_string();
    if out.json {
        out.json(&serde_json::json!({ "applied": applied, "version": version }));
    } else if applied.is_empty() {
        out.say(UiText::MigrateUpToDate, &[("version", &version)]);
    } else {
        out.say(
            UiText::MigrateApplied,
            &[("count", &applied.len().to_string()), ("version", &version)],
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn project(
    app: &App,
    once: bool,
    interval: u64,
    stall_after: u64,
    checkpointer: Option<Arc<crate::audit::schedule::Checkpointer>>,
    relayed: Option<(String, crate::relay::subject::StreamName)>,
    out: &Out,
) -> Result<(), CliError> {
    if !once {
        let stop = shutdown_signal();
        // The periodic checkpoint runs beside the projector and stops with it.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let signing = checkpointer.map(|c| {
            let clock = app.clock.clone();
            let poll = audit::poll_for(c.every());
            let mut stop_rx = stop_rx.clone();
            tokio::spawn(c.run(clock, poll, async move {
                let _ = stop_rx.wait_for(|stopped| *stopped).await;
            }))
        });
        let stop = async move {
            stop.await;
            let _ = stop_tx.send(true);
        };
        out.say(
            UiText::ProjectorStarted,
            &[("interval", &interval.to_string())],
        );
        let on_stall = |stall: &runproof_projections::Stall| {
            let holder = match &stall.oldest {
                Some(o) => lag::holder_text(&o.holder, out),
                None => UiText::HolderUnseen.text(out.lang),
            };
            let text = ReasonCode::ProjectionStalled.render(
                out.lang,
                &[
                    ("seconds", &stall.stalled_for.as_secs().to_string()),
                    ("count", &stall.events_waiting.to_string()),
                    ("holder", &holder),
                ],
            );
            eprintln!("warning: {text} [{}]", ReasonCode::ProjectionStalled);
        };
        app.projector
            .run(
                Duration::from_secs(interval.max(1)),
                Duration::from_secs(stall_after.max(1)),
                on_stall,
                stop,
            )
            .await;
        if let Some(task) = signing {
            let _ = task.await;
        }
        return Ok(());
    }
    // Every projection's position is printed, also when one is stopped; the stop is the
    // command's error afterwards.
    let caught_up = app
        .projector
        .catch_up_report()
        .await
        .map_err(|e| CliError::from_projector(&e))?;
    let (statuses, horizon) = app
        .projector
        .status()
        .await
        .map_err(|e| CliError::from_projector(&e))?;
    // With a key, one checkpoint of what was just sequenced (if one is due: it is, once
    // per process).
    let signed = match (
        &checkpointer,
        caught_up
            .stopped
            .contains(&runproof_projections::log_leaves::NAME),
    ) {
        (Some(c), false) => c
            .tick(app.clock.now())
            .await
            .map_err(|e| audit::from_audit(&e))?,
        _ => None,
    };
    let stopped = |name: &str| caught_up.stopped.contains(&name);
    let held_back = horizon.events_above_horizon > 0;
    let relay_lag = match &relayed {
        Some((url, stream)) => {
            let mut conn = app
                .pool
                .acquire()
                .await
                .map_err(|e| CliError::internal(&e))?;
            Some((relay::lag(url, stream, &mut conn).await?, stream))
        }
        None => None,
    };
    if out.json {
        let items: Vec<_> = statuses
            .iter()
            .map(|s| {
                serde_json::json!({
                    "projection": s.projection,
                    "position": s.checkpoint.at.position,
                    "transaction_id": s.checkpoint.at.transaction_id,
                    "events_applied": s.checkpoint.events_applied,
                    "events_behind": s.events_behind,
                    "stopped": stopped(s.projection),
                })
            })
            .collect();
        out.json(&serde_json::json!({
            "projections": items,
            "events_above_horizon": horizon.events_above_horizon,
            "oldest_open_transaction_since": horizon.oldest_open_transaction_since,
            "held_by": horizon.oldest_transaction.filter(|_| held_back).map(|o| o.holder),
            "checkpoint": signed.as_ref().map(audit::signed_json),
            "relay": relay_lag.as_ref().map(|(lag, stream)| relay::lag_json(lag, stream)),
        }));
    } else {
        for s in &statuses {
            let phrase = if stopped(s.projection) {
                UiText::ProjectorStopped
            } else {
                UiText::ProjectorStatus
            };
            out.say(
                phrase,
                &[
                    ("projection", s.projection),
                    ("position", &s.checkpoint.at.position.to_string()),
                    ("behind", &s.events_behind.to_string()),
                ],
            );
        }
        if let Some((lag, stream)) = &relay_lag {
            relay::say_lag(lag, stream, out);
        }
        if let (Some(oldest), true) = (&horizon.oldest_transaction, held_back) {
            out.say(
                UiText::ProjectorHeldBack,
                &[
                    ("holder", &lag::holder_text(&oldest.holder, out)),
                    ("count", &horizon.events_above_horizon.to_string()),
                ],
            );
        }
    }
    if let (Some(signed), false) = (&signed, out.json) {
        audit::say_signed(signed, out);
    }
    match caught_up.stopped.first() {
        Some(projection) => Err(CliError::environment_state(
            ReasonCode::ProjectionStopped,
            vec![("projection", projection.to_string())],
        )),
        None => Ok(()),
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives while the
/// first pass is still running is not lost (and does not kill the process).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (term, interrupt) {
                (Ok(mut term), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Prints a clap error as one line (help and version print in full) and returns its
/// exit code.
pub fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("error: invalid arguments");
            eprintln!("{first} (see runproof --help)");
            ExitCode::from(error::EXIT_INPUT)
        }
    }
}
