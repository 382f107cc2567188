//! `runproof audit …`: keys, checkpoints and verification of the tamper-evident log
//! (docs/audit.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use runproof_audit::{tree, SignerKey, VerifierKey};
use runproof_domain::ReasonCode;
use runproof_projections::log_leaves::LogLeavesProjection;
use runproof_projections::Projector;
use serde_json::json;

use super::error::{CliError, EXIT_DIFFERENCES};
use super::out::Out;
use super::text::UiText;
use super::Opener;
use crate::app::App;
use crate::audit::bundle;
use crate::audit::checkpoints::{self, Signed, StoredCheckpoint};
use crate::audit::export;
use crate::audit::keys::{self, KeyFileError};
use crate::audit::proof_check;
use crate::audit::prove;
use crate::audit::schedule::{Checkpointer, DEFAULT_EVERY};
use crate::audit::verify;
use crate::audit::AuditError;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Make an Ed25519 signer key for checkpoints. It is written to a new file (mode
    /// 0600; an existing file is never overwritten); its verifier key, which auditors
    /// use, is printed.
    Keygen {
        /// The file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The log's name: the key's name and the checkpoints' origin line (no spaces or
        /// '+'). Default: runproof/<database name>.
        #[arg(long)]
        name: Option<String>,
    },
    /// Sign the current tree head of the sequenced log (after bringing the sequencer up
    /// to date) and store it. Refuses a tree that does not extend the last checkpoint.
    Checkpoint {
        #[command(flatten)]
        signing: SigningArgs,
    },
    /// Write a bundle for an auditor: the events between two signed checkpoints, both
    /// checkpoints, and the proofs that the later tree extends the earlier one
    /// (docs/audit.md). Checkpoints are named by their tree size.
    Export {
        /// A new or empty directory to write the bundle into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The earlier tree: the size of a signed checkpoint, or 0 for the empty tree.
        /// Default: 0 (the whole log).
        #[arg(long, value_name = "CHECKPOINT", allow_hyphen_values = true)]
        from: Option<String>,
        /// The later tree: the size of a signed checkpoint. Default: the latest.
        #[arg(long, value_name = "CHECKPOINT", allow_hyphen_values = true)]
        to: Option<String>,
    },
    /// Verify the live database's log (--database), or a bundle from `audit export`
    /// (DIR, offline: needs only --key). Each problem on its own line; exit code 1 if
    /// any.
    Verify {
        /// A bundle directory written by `audit export`: verified without a database.
        #[arg(
            value_name = "DIR",
            required_unless_present = "database",
            conflicts_with = "database"
        )]
        dir: Option<PathBuf>,
        /// Recompute every leaf from the live log and compare it with the sequenced
        /// leaves and the signed checkpoints.
        #[arg(long)]
        database: bool,
        /// The log's verifier key (<name>+<id>+<key>, or a file holding it): every
        /// checkpoint must carry a valid signature by it. Required with DIR.
        #[arg(long, env = "RUNPROOF_AUDIT_VERIFIER_KEY", value_name = "PUBKEY")]
        key: Option<String>,
    },
    /// Write an inclusion proof for each event of a run against the latest signed
    /// checkpoint: one C2SP tlog-proof file per event (`<leaf index>-<event
    /// type>.tlog-proof`), each carrying the event it proves (docs/audit.md). Events the
    /// checkpoint does not cover yet are listed, without a proof.
    Prove {
        /// The run's id.
        run_id: String,
        /// A new or empty directory to write the proofs into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Check one proof file from `audit prove` offline (no database): the checkpoint's
    /// signature by the key, the event's leaf hash, and its inclusion in the signed tree.
    /// Exit code 1 with one line saying what is wrong.
    VerifyProof {
        /// The .tlog-proof file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The log's verifier key (<name>+<id>+<key>, or a file holding it).
        #[arg(long, env = "RUNPROOF_AUDIT_VERIFIER_KEY", value_name = "PUBKEY")]
        key: Option<String>,
    },
    /// Decide every recorded reconciliation decision again from its recorded evidence
    /// with this build's adapters, and check that its evidence came from the run's own
    /// scope. A table per adapter, then each decision that differs on its own line; exit
    /// code 1 if any.
    Redecide(super::redecide::RedecideArgs),
}

/// How `audit checkpoint` signs.
#[derive(Debug, Clone, Args)]
pub struct SigningArgs {
    /// The signer key file (from `runproof audit keygen`).
    #[arg(long = "key", env = "RUNPROOF_AUDIT_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The checkpoints' origin line. Default: the key's name.
    #[arg(long, env = "RUNPROOF_AUDIT_ORIGIN")]
    pub origin: Option<String>,
}

/// How `serve` and `project` sign periodic checkpoints (only with a key).
#[derive(Debug, Clone, Args)]
pub struct PeriodicSigningArgs {
    /// Sign a checkpoint of the audit log every --checkpoint-every with this signer key
    /// file (from `runproof audit keygen`). Without it, no checkpoints are made.
    #[arg(long = "audit-key", env = "RUNPROOF_AUDIT_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The checkpoints' origin line. Default: the key's name.
    #[arg(long = "audit-origin", env = "RUNPROOF_AUDIT_ORIGIN")]
    pub origin: Option<String>,
    /// Time between checkpoints: 90s, 10m, 1h, or seconds.
    #[arg(long, default_value = "10m", value_parser = parse_period, value_name = "PERIOD")]
    pub checkpoint_every: Duration,
}

/// A period: a number with `s`, `m` or `h`, or plain seconds; at least one second.
pub fn parse_period(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1),
        Some((i, 'm')) => (&t[..i], 60),
        Some((i, 'h')) => (&t[..i], 3600),
        _ => (t, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|secs| *secs >= 1)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s} is not a period such as 90s, 10m or 1h"))
}

pub async fn run(command: AuditCommand, opener: &Opener, out: &Out) -> Result<ExitCode, CliError> {
    match command {
        AuditCommand::Keygen { out: file, name } => {
            let name = name.unwrap_or_else(|| keys::default_name(opener.target().database()));
            keygen(&file, &name, out).map(|_| ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint { signing } => {
            let key = signer_key(signing.key.as_deref())?;
            let origin = origin(signing.origin, &key)?;
            let app = opener.open().await?;
            checkpoint(&app, &key, &origin, out)
                .await
                .map(|_| ExitCode::SUCCESS)
        }
        AuditCommand::Export { out: dir, from, to } => {
            let from = from.as_deref().map(tree_size).transpose()?;
            let to = to.as_deref().map(tree_size).transpose()?;
            export::check_empty(&dir).map_err(|e| write_error(&e, &dir))?;
            let app = opener.open().await?;
            let bundle = export::export(&app.pool, from, to)
                .await
                .map_err(|e| from_audit(&e))?;
            export::write(&dir, &bundle).map_err(|e| write_error(&e, &dir))?;
            say_exported(&dir, &bundle, out);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify {
            dir,
            database: _,
            key,
        } => {
            let key = key
                .as_deref()
                .map(|k| {
                    keys::read_verifier(k)
                        .ok_or_else(|| CliError::input(ReasonCode::AuditVerifierKeyInvalid, vec![]))
                })
                .transpose()?;
            if let Some(dir) = dir {
                // Offline: no database is opened.
                let key = key
                    .ok_or_else(|| CliError::input(ReasonCode::AuditVerifierKeyMissing, vec![]))?;
                let report = bundle::verify_dir(&dir, &key).map_err(|e| {
                    CliError::environment(
                        ReasonCode::AuditBundleIo,
                        vec![("dir", dir.display().to_string())],
                        &e,
                    )
                })?;
                // Every recorded decision in the bundle, decided again from its evidence.
                let registry = crate::reconciliation::decision_registry()
                    .map_err(|e| CliError::internal(&e))?;
                let decisions = crate::audit::redecide::redecide(
                    &registry,
                    crate::audit::redecide::RedecideFilter::default(),
                    &bundle::decision_entries(&report.events),
                );
                return Ok(print_bundle_report(&report, &decisions, &key, out));
            }
            let app = opener.open().await?;
            let report = verify::verify_database(&app.pool, key.as_ref())
                .await
                .map_err(|e| from_audit(&e))?;
            Ok(print_report(&report, key.as_ref().map(|k| k.as_str()), out))
        }
        AuditCommand::Prove { run_id, out: dir } => {
            let run = super::runs::parse_id(&run_id)?;
            export::check_empty(&dir).map_err(|e| prove_write_error(&e, &dir))?;
            let app = opener.open().await?;
            let proofs = prove::prove_run(&app.pool, run)
                .await
                .map_err(|e| from_audit(&e))?;
            export::write_files(
                &dir,
                proofs
                    .proven
                    .iter()
                    .map(|p| (p.file_name.as_str(), p.text.as_bytes())),
            )
            .map_err(|e| prove_write_error(&e, &dir))?;
            say_proved(&dir, &proofs, out);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::VerifyProof { file, key } => {
            // Offline: no database is opened.
            let key = key
                .as_deref()
                .ok_or_else(|| CliError::input(ReasonCode::AuditVerifierKeyMissing, vec![]))
                .and_then(|k| {
                    keys::read_verifier(k)
                        .ok_or_else(|| CliError::input(ReasonCode::AuditVerifierKeyInvalid, vec![]))
                })?;
            verify_proof(&file, &key, out)
        }
        AuditCommand::Redecide(args) => super::redecide::run(args, opener, out).await,
    }
}

fn prove_write_error(e: &export::WriteError, dir: &Path) -> CliError {
    let dir = ("dir", dir.display().to_string());
    match e {
        export::WriteError::NotEmpty => {
            CliError::input(ReasonCode::AuditProveDirNotEmpty, vec![dir])
        }
        export::WriteError::Io(io) => {
            CliError::environment(ReasonCode::AuditProveIo, vec![dir], io)
        }
    }
}

fn say_proved(dir: &Path, proofs: &prove::RunProofs, out: &Out) {
    let uncovered_label = |u: &prove::Uncovered| {
        format!(
            "{} operation_run/{}#{}",
            u.event_type, proofs.run, u.sequence
        )
    };
    if out.json {
        out.json(&json!({
            "run": proofs.run,
            "dir": dir.display().to_string(),
            "origin": proofs.origin,
            "tree_size": proofs.size,
            "proofs": proofs.proven.iter().map(|p| json!({
                "leaf_index": p.event.leaf_index,
                "sequence": p.event.sequence,
                "event_type": p.event.event_type,
                "file": p.file_name,
            })).collect::<Vec<_>>(),
            "uncovered": proofs.uncovered.iter().map(|u| json!({
                "sequence": u.sequence,
                "event_type": u.event_type,
                "position": u.position,
                "leaf_index": u.leaf_index,
            })).collect::<Vec<_>>(),
        }));
        return;
    }
    for p in &proofs.proven {
        out.say(
            UiText::AuditProofWritten,
            &[
                ("index", &p.event.leaf_index.to_string()),
                (
                    "event",
                    &format!("{} {}", p.event.event_type, p.event.label()),
                ),
                ("file", &dir.join(&p.file_name).display().to_string()),
            ],
        );
    }
    for u in &proofs.uncovered {
        out.say(
            UiText::AuditProofUncovered,
            &[
                ("event", &uncovered_label(u)),
                ("position", &u.position.to_string()),
                ("size", &proofs.size.to_string()),
            ],
        );
    }
    out.say(
        UiText::AuditProvedRun,
        &[
            ("count", &proofs.proven.len().to_string()),
            ("run", &proofs.run.to_string()),
            ("dir", &dir.display().to_string()),
            ("size", &proofs.size.to_string()),
            ("origin", &proofs.origin),
            ("uncovered", &proofs.uncovered.len().to_string()),
        ],
    );
}

fn verify_proof(file: &Path, key: &VerifierKey, out: &Out) -> Result<ExitCode, CliError> {
    let name = file.display().to_string();
    // The file is the operator's input: one that cannot be read is bad input.
    let bytes = std::fs::read(file)
        .map_err(|_| CliError::input(ReasonCode::AuditProofIo, vec![("file", name.clone())]))?;
    match proof_check::check(&bytes, key) {
        Ok(proved) => {
            let event = format!("{} {}", proved.event.event_type, proved.event.label());
            if out.json {
                out.json(&json!({
                    "file": name,
                    "holds": true,
                    "leaf_index": proved.event.leaf_index,
                    "event": event,
                    "origin": proved.head.origin,
                    "tree_size": proved.head.size,
                    "root_hash": tree::to_hex(&proved.head.root),
                    "key": key.as_str(),
                }));
            } else {
                out.say(
                    UiText::AuditProofVerified,
                    &[
                        ("file", &name),
                        ("index", &proved.event.leaf_index.to_string()),
                        ("event", &event),
                        ("size", &proved.head.size.to_string()),
                        ("key", key.as_str()),
                    ],
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problem) => {
            let (reason, args) = problem.reason(&name, key.as_str());
            Err(CliError {
                reason,
                args,
                exit: EXIT_DIFFERENCES,
            })
        }
    }
}

/// A checkpoint name: its tree size.
fn tree_size(name: &str) -> Result<u64, CliError> {
    name.trim().parse::<u64>().map_err(|_| {
        CliError::input(
            ReasonCode::AuditCheckpointNameInvalid,
            vec![("name", name.to_string())],
        )
    })
}

fn write_error(e: &export::WriteError, dir: &Path) -> CliError {
    let dir = ("dir", dir.display().to_string());
    match e {
        export::WriteError::NotEmpty => {
            CliError::input(ReasonCode::AuditBundleDirNotEmpty, vec![dir])
        }
        export::WriteError::Io(io) => {
            CliError::environment(ReasonCode::AuditBundleIo, vec![dir], io)
        }
    }
}

fn say_exported(dir: &Path, bundle: &export::Bundle, out: &Out) {
    let events = bundle.to.saturating_sub(bundle.from);
    if out.json {
        out.json(&json!({
            "dir": dir.display().to_string(),
            "from": bundle.from,
            "to": bundle.to,
            "events": events,
            "files": bundle.files.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        }));
    } else {
        out.say(
            UiText::AuditExported,
            &[
                ("dir", &dir.display().to_string()),
                ("from", &bundle.from.to_string()),
                ("to", &bundle.to.to_string()),
                ("events", &events.to_string()),
            ],
        );
    }
}

fn print_bundle_report(
    report: &bundle::BundleReport,
    decisions: &crate::audit::redecide::RedecideReport,
    key: &VerifierKey,
    out: &Out,
) -> ExitCode {
    let lines: Vec<(ReasonCode, String, &bundle::BundleProblem)> = report
        .problems
        .iter()
        .map(|p| {
            let (reason, args) = p.reason(key.as_str());
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            (reason, reason.render(out.lang, &args), p)
        })
        .collect();
    let findings: Vec<(ReasonCode, String, &crate::audit::redecide::Finding)> = decisions
        .findings
        .iter()
        .map(|f| {
            let (reason, args) = f.reason(out.lang);
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            (reason, reason.render(out.lang, &args), f)
        })
        .collect();
    let clean = report.is_clean() && decisions.all_agree();
    if out.json {
        let tagged = |reason: &ReasonCode, message: &String, value: serde_json::Value| {
            let mut value = value;
            if let Some(obj) = value.as_object_mut() {
                obj.insert("reason".into(), json!(reason.code()));
                obj.insert("message".into(), json!(message));
            }
            value
        };
        let problems: Vec<_> = lines
            .iter()
            .map(|(reason, message, p)| {
                tagged(reason, message, serde_json::to_value(p).unwrap_or_default())
            })
            .collect();
        let findings: Vec<_> = findings
            .iter()
            .map(|(reason, message, f)| {
                tagged(reason, message, serde_json::to_value(f).unwrap_or_default())
            })
            .collect();
        out.json(&json!({
            "clean": clean,
            "problems": problems,
            "from": report.from,
            "to": report.to,
            "events": report.events.len(),
            "decisions": {
                "all_agree": decisions.all_agree(),
                "redecided": decisions.decisions,
                "findings": findings,
                "omitted": decisions.omitted,
            },
        }));
    } else {
        for (reason, message, _) in &lines {
            out.line(format!("{message} [{reason}]"));
        }
        for (reason, message, _) in &findings {
            out.line(format!("{message} [{reason}]"));
        }
        if decisions.omitted > 0 {
            out.say(
                UiText::AuditRedecideOmitted,
                &[("count", &decisions.omitted.to_string())],
            );
        }
        if report.is_clean() {
            out.say(
                UiText::AuditBundleVerified,
                &[
                    ("key", key.as_str()),
                    ("from", &report.from.to_string()),
                    ("to", &report.to.to_string()),
                    ("events", &report.events.len().to_string()),
                ],
            );
        }
        if decisions.all_agree() {
            out.say(
                UiText::AuditRedecideClean,
                &[("total", &decisions.decisions.to_string())],
            );
        }
    }
    if clean {
        return ExitCode::SUCCESS;
    }
    let failure = if report.is_clean() {
        CliError {
            reason: ReasonCode::AuditRedecideFailed,
            args: vec![
                ("count", decisions.finding_count().to_string()),
                ("total", decisions.decisions.to_string()),
            ],
            exit: EXIT_DIFFERENCES,
        }
    } else {
        CliError {
            reason: ReasonCode::AuditVerifyFailed,
            args: vec![("count", report.problems.len().to_string())],
            exit: EXIT_DIFFERENCES,
        }
    };
    eprintln!("{}", failure.message(out.lang));
    ExitCode::from(EXIT_DIFFERENCES)
}

/// The periodic checkpointer `serve` and `project` run, when a key is configured.
pub fn checkpointer(
    args: &PeriodicSigningArgs,
    app: &App,
) -> Result<Option<Arc<Checkpointer>>, CliError> {
    let Some(path) = args.key.as_deref() else {
        return Ok(None);
    };
    let key = signer_key(Some(path))?;
    let origin = origin(args.origin.clone(), &key)?;
    let every = match args.checkpoint_every.is_zero() {
        true => DEFAULT_EVERY,
        false => args.checkpoint_every,
    };
    Ok(Some(Arc::new(Checkpointer::new(
        app.pool.clone(),
        key,
        origin,
        every,
    ))))
}

/// How often a periodic checkpointer looks whether one is due.
pub fn poll_for(every: Duration) -> Duration {
    (every / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

fn keygen(file: &Path, name: &str, out: &Out) -> Result<(), CliError> {
    let key = keys::generate(name).map_err(|e| key_error(&e, file, name))?;
    keys::write_new(file, &key).map_err(|e| key_error(&e, file, name))?;
    if out.json {
        out.json(&json!({
            "file": file.display().to_string(),
            "name": key.name(),
            "verifier_key": key.verifier_key(),
        }));
    } else {
        eprintln!(
            "{}",
            UiText::AuditKeyWritten.render(out.lang, &[("file", &file.display().to_string())])
        );
        out.line(key.verifier_key());
    }
    Ok(())
}

async fn checkpoint(app: &App, key: &SignerKey, origin: &str, out: &Out) -> Result<(), CliError> {
    // The tree is the sequenced leaves: bring the sequencer up to the read horizon first.
    Projector::new(app.pool.clone(), vec![Arc::new(LogLeavesProjection)])
        .catch_up()
        .await
        .map_err(|e| CliError::from_projector(&e))?;
    let signed = checkpoints::sign_current(&app.pool, key, origin, app.clock.now())
        .await
        .map_err(|e| from_audit(&e))?;
    say_signed(&signed, out);
    Ok(())
}

/// What a signing did, as JSON.
pub fn signed_json(signed: &Signed) -> serde_json::Value {
    match signed {
        Signed::New(c) => checkpoint_json(c, true),
        Signed::Unchanged(c) => checkpoint_json(c, false),
    }
}

/// Prints what a signing did (also for `project --once`).
pub fn say_signed(signed: &Signed, out: &Out) {
    let (c, new) = match signed {
        Signed::New(c) => (c, true),
        Signed::Unchanged(c) => (c, false),
    };
    if out.json {
        out.json(&signed_json(signed));
        return;
    }
    let size = c.tree_size.to_string();
    match new {
        true => out.say(
            UiText::AuditCheckpointSigned,
            &[
                ("id", &c.id.to_string()),
                ("size", &size),
                ("root", &root_hex(c)),
                ("origin", &c.origin),
            ],
        ),
        false => out.say(
            UiText::AuditCheckpointUnchanged,
            &[("id", &c.id.to_string()), ("size", &size)],
        ),
    }
}

fn checkpoint_json(c: &StoredCheckpoint, new: bool) -> serde_json::Value {
    json!({
        "id": c.id,
        "new": new,
        "origin": c.origin,
        "tree_size": c.tree_size,
        "root_hash": root_hex(c),
        "key": c.key,
        "note": c.note,
        "signed_at": c.signed_at,
    })
}

fn root_hex(c: &StoredCheckpoint) -> String {
    tree::from_bytes(&c.root_hash)
        .map(|h| tree::to_hex(&h))
        .unwrap_or_default()
}

fn print_report(report: &verify::VerifyReport, key: Option<&str>, out: &Out) -> ExitCode {
    if out.json {
        let problems: Vec<_> = report
            .problems
            .iter()
            .map(|p| {
                let (reason, args) = p.reason();
                let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let mut value = serde_json::to_value(p).unwrap_or_default();
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("reason".into(), json!(reason.code()));
                    obj.insert("message".into(), json!(reason.render(out.lang, &args)));
                }
                value
            })
            .collect();
        out.json(&json!({
            "clean": report.is_clean(),
            "problems": problems,
            "events": report.events,
            "leaves": report.leaves,
            "unsequenced": report.unsequenced,
            "checkpoints": report.checkpoints,
            "signatures_checked": report.signatures_checked,
        }));
    } else {
        for p in &report.problems {
            let (reason, args) = p.reason();
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            out.line(format!("{} [{reason}]", reason.render(out.lang, &args)));
        }
        if report.is_clean() {
            out.say(
                UiText::AuditVerifyClean,
                &[
                    ("events", &report.events.to_string()),
                    ("leaves", &report.leaves.to_string()),
                    ("checkpoints", &report.checkpoints.to_string()),
                ],
            );
            match key {
                Some(key) => out.say(UiText::AuditSignaturesChecked, &[("key", key)]),
                None => out.say(UiText::AuditSignaturesUnchecked, &[]),
            }
        }
        if report.unsequenced > 0 {
            out.say(
                UiText::AuditUnsequenced,
                &[("count", &report.unsequenced.to_string())],
            );
        }
    }
    if report.is_clean() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "{}",
        CliError {
            reason: ReasonCode::AuditVerifyFailed,
            args: vec![("count", report.problems.len().to_string())],
            exit: EXIT_DIFFERENCES,
        }
        .message(out.lang)
    );
    ExitCode::from(EXIT_DIFFERENCES)
}

fn signer_key(path: Option<&Path>) -> Result<SignerKey, CliError> {
    let path = path.ok_or_else(|| CliError::input(ReasonCode::AuditKeyMissing, vec![]))?;
    keys::read_signer(path).map_err(|e| key_error(&e, path, ""))
}

fn origin(origin: Option<String>, key: &SignerKey) -> Result<String, CliError> {
    let origin = origin.unwrap_or_else(|| key.name().to_string());
    match runproof_audit::key::is_valid_name(&origin) {
        true => Ok(origin),
        false => Err(CliError::input(
            ReasonCode::AuditNameInvalid,
            vec![("name", origin)],
        )),
    }
}

fn key_error(e: &KeyFileError, file: &Path, name: &str) -> CliError {
    let file = ("file", file.display().to_string());
    match e {
        KeyFileError::Exists => CliError::input(ReasonCode::AuditKeyExists, vec![file]),
        KeyFileError::Invalid => CliError::input(ReasonCode::AuditKeyInvalid, vec![file]),
        KeyFileError::InvalidName => CliError::input(
            ReasonCode::AuditNameInvalid,
            vec![("name", name.to_string())],
        ),
        // A path that names no file is the operator's input.
        KeyFileError::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            CliError::input(ReasonCode::AuditKeyFileFailed, vec![file])
        }
        KeyFileError::Io(_) | KeyFileError::Random => {
            CliError::environment(ReasonCode::AuditKeyFileFailed, vec![file], e)
        }
    }
}

/// An audit service error as an operator reads it.
pub fn from_audit(e: &AuditError) -> CliError {
    match e {
        AuditError::Projector(p) => CliError::from_projector(p),
        AuditError::Fork { id, size } => CliError::environment_state(
            ReasonCode::AuditFork,
            vec![("id", id.to_string()), ("size", size.to_string())],
        ),
        AuditError::LeavesIncomplete { index } => CliError::environment_state(
            ReasonCode::AuditLeavesIncomplete,
            vec![("index", index.to_string())],
        ),
        AuditError::InvalidOrigin(origin) => {
            CliError::input(ReasonCode::AuditNameInvalid, vec![("name", origin.clone())])
        }
        AuditError::CheckpointUnknown { size } => CliError::input(
            ReasonCode::AuditCheckpointUnknown,
            vec![("size", size.to_string())],
        ),
        AuditError::RangeReversed { from, to } => CliError::input(
            ReasonCode::AuditRangeReversed,
            vec![("from", from.to_string()), ("to", to.to_string())],
        ),
        AuditError::RunUnknown { run } => {
            CliError::input(ReasonCode::RunNotFound, vec![("run", run.to_string())])
        }
        AuditError::NothingCovered { run, events, size } => CliError::environment_state(
            ReasonCode::AuditProveNothingCovered,
            vec![
                ("run", run.to_string()),
                ("events", events.to_string()),
                ("size", size.to_string()),
            ],
        ),
        AuditError::NoCheckpoint => {
            CliError::environment_state(ReasonCode::AuditNoCheckpoint, vec![])
        }
        AuditError::CheckpointMalformed { id } => CliError::environment_state(
            ReasonCode::AuditCheckpointMalformed,
            vec![("id", id.to_string())],
        ),
        AuditError::Database(_) | AuditError::Internal => CliError::internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_seconds_minutes_and_hours() {
        assert_eq!(parse_period("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_period("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_period("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_period("45"), Ok(Duration::from_secs(45)));
        assert!(parse_period("0m").is_err());
        assert!(parse_period("ten minutes").is_err());
        assert!(parse_period("").is_err());
    }
}
