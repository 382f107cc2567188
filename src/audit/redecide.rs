//! Re-deciding recorded decisions: every `RunReconciled` event of a log, decided again
//! from its recorded evidence with today's pure decision functions (through the adapter
//! registry, by the adapter name and version the decision recorded), and its recorded
//! scope checked against the run's own.
//!
//! No database: [`Redecider`] is fed log entries in commit (or leaf) order, so
//! `audit redecide` (which streams the live log, [`super::redecide_log`]) and an offline
//! verification of an exported bundle share it. Memory stays bounded by the runs that
//! are still open at a point of the log (their scope is kept until the run ends) and by
//! [`MAX_LISTED`] findings.

use std::collections::{BTreeMap, HashMap};

use runproof_adapters::AdapterRegistry;
use runproof_domain::lang::Lang;
use runproof_domain::operation_run::OperationRunEvent;
use runproof_domain::reconciliation::{
    Decision, DecisionKind, Reconciliation, ReconciliationSource, RecordKind,
};
use runproof_domain::upcasting;
use runproof_domain::ReasonCode;
use serde::Serialize;
use uuid::Uuid;

/// Findings listed at most; the rest are counted ([`RedecideReport::omitted`]).
pub const MAX_LISTED: usize = 10_000;

/// The name the generic stale path is reported (and filtered) under.
pub const STALE: &str = "stale";

/// One event of the log as the re-decider needs it: its place (the log position, or the
/// leaf index of an exported bundle), its stream, its type and version, and its payload
/// as stored (JSON text, decoded here through the one upcasting registry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub place: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
}

impl From<&runproof_projections::log::StoredEvent> for LogEntry {
    fn from(e: &runproof_projections::log::StoredEvent) -> Self {
        LogEntry {
            place: e.at.position,
            aggregate_type: e.aggregate_type.clone(),
            aggregate_id: e.aggregate_id.clone(),
            event_type: e.event_type.clone(),
            event_version: e.event_version.clone(),
            payload: e.payload.clone(),
        }
    }
}

/// A run's own scope, from its `RunQueued` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunScope {
    pub workspace_id: Uuid,
    pub environment_id: Option<Uuid>,
}

/// Which decisions to re-decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedecideFilter {
    /// Only decisions of this adapter name ([`STALE`] for the stale path). Decisions that
    /// cannot be decoded are always reported: nobody can tell whose they are.
    pub adapter: Option<String>,
}

/// A decision as recorded or as decided today: its verdict and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DecisionSummary {
    /// `proven_succeeded`, …, `blocked`, `not_provable_yet` or `deferred`.
    pub decision: &'static str,
    pub reason: ReasonCode,
}

impl DecisionSummary {
    fn recorded(kind: DecisionKind, reason: ReasonCode) -> Self {
        DecisionSummary {
            decision: kind.as_str(),
            reason,
        }
    }

    fn today(decision: &Decision) -> Self {
        DecisionSummary {
            decision: decision.as_str(),
            reason: decision.reason(),
        }
    }
}

/// What is wrong with one recorded decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FindingKind {
    /// Today's decision function decides differently.
    Disagrees {
        recorded: DecisionSummary,
        today: DecisionSummary,
    },
    /// The evidence names another workspace or environment than the run's own.
    OutOfScope {
        read_workspace: Uuid,
        read_environment: Option<Uuid>,
        run: RunScope,
    },
    /// The recorded adapter (name and version) is not registered in this build.
    AdapterMissing,
    /// The event (or its evidence) does not decode.
    Undecodable,
}

/// One recorded decision that is not decided the same way today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The event's place: log position, or leaf index in a bundle.
    pub place: i64,
    /// The run (the stream id); `None` when the stream id is not a run id.
    pub run_id: Option<Uuid>,
    /// `name@version`, [`STALE`], or `unknown` when the event does not decode.
    pub decided_by: String,
    #[serde(flatten)]
    pub kind: FindingKind,
}

impl Finding {
    /// The reason code and its arguments, to render in either language.
    pub fn reason(&self, lang: Lang) -> (ReasonCode, Vec<(&'static str, String)>) {
        let mut args = vec![
            (
                "run",
                self.run_id
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "?".into()),
            ),
            ("position", self.place.to_string()),
            ("adapter", self.decided_by.clone()),
        ];
        let none = || lang.pick("none", "keine").to_string();
        let env = |e: Option<Uuid>| e.map(|e| e.to_string()).unwrap_or_else(none);
        let code = match &self.kind {
            FindingKind::Disagrees { recorded, today } => {
                args.push(("recorded", recorded.decision.to_string()));
                args.push(("recorded_reason", recorded.reason.code().to_string()));
                args.push(("today", today.decision.to_string()));
                args.push(("today_reason", today.reason.code().to_string()));
                ReasonCode::AuditRedecideDisagrees
            }
            FindingKind::OutOfScope {
                read_workspace,
                read_environment,
                run,
            } => {
                args.push(("read_workspace", read_workspace.to_string()));
                args.push(("read_environment", env(*read_environment)));
                args.push(("workspace", run.workspace_id.to_string()));
                args.push(("environment", env(run.environment_id)));
                ReasonCode::AuditRedecideOutOfScope
            }
            FindingKind::AdapterMissing => ReasonCode::AuditRedecideAdapterMissing,
            FindingKind::Undecodable => ReasonCode::AuditRedecideUndecodable,
        };
        (code, args)
    }
}

/// How the decisions of one decider (adapter `name@version`, or the stale path) fared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub agreed: u64,
    pub disagreed: u64,
    pub out_of_scope: u64,
    /// Adapter missing or event undecodable.
    pub not_redecidable: u64,
    /// Agreed, but the run's own scope was not in the log read (queued before it).
    pub scope_unchecked: u64,
}

/// The outcome of re-deciding a log (or a range of it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedecideReport {
    /// Recorded decisions examined (after the filter).
    pub decisions: u64,
    /// By decider: `name@version`, [`STALE`], or `unknown`.
    pub deciders: BTreeMap<String, Tally>,
    /// Every decision not decided the same way, in log order (at most [`MAX_LISTED`]).
    pub findings: Vec<Finding>,
    /// Findings beyond [`MAX_LISTED`], counted only.
    pub omitted: u64,
    /// Events committed when the live log was read but not yet readable (a long-open
    /// transaction held the read horizon back); their decisions were not examined.
    pub unread: u64,
}

impl RedecideReport {
    /// Whether every examined decision is decided the same way today, in its run's scope.
    pub fn all_agree(&self) -> bool {
        self.findings.is_empty() && self.omitted == 0
    }

    /// The number of findings, listed or not.
    pub fn finding_count(&self) -> u64 {
        self.findings.len() as u64 + self.omitted
    }

    fn add(&mut self, finding: Finding) {
        let tally = self.deciders.entry(finding.decided_by.clone()).or_default();
        match finding.kind {
            FindingKind::Disagrees { .. } => tally.disagreed += 1,
            FindingKind::OutOfScope { .. } => tally.out_of_scope += 1,
            FindingKind::AdapterMissing | FindingKind::Undecodable => tally.not_redecidable += 1,
        }
        if self.findings.len() < MAX_LISTED {
            self.findings.push(finding);
        } else {
            self.omitted += 1;
        }
    }
}

/// Re-decides the decisions of a log fed to it in commit order.
pub struct Redecider<'r> {
    registry: &'r AdapterRegistry,
    filter: RedecideFilter,
    /// The scope of every run queued and not yet ended in what was fed so far.
    open_runs: HashMap<Uuid, RunScope>,
    /// Scopes read from outside the range for the current batch.
    learned: HashMap<Uuid, RunScope>,
    report: RedecideReport,
}

impl<'r> Redecider<'r> {
    pub fn new(registry: &'r AdapterRegistry, filter: RedecideFilter) -> Self {
        Redecider {
            registry,
            filter,
            open_runs: HashMap::new(),
            learned: HashMap::new(),
            report: RedecideReport::default(),
        }
    }

    /// The runs with a decision in `batch` whose scope will not be known when it is fed:
    /// queued before the range read, or decided a second time (a run's scope is only kept
    /// while it is open). A caller with access to the rest of the log reads their
    /// `RunQueued` and passes it to [`Redecider::learn_scope`] before feeding `batch`,
    /// and calls [`Redecider::end_batch`] after.
    pub fn unknown_runs(&self, batch: &[LogEntry]) -> Vec<Uuid> {
        let mut open = std::collections::HashSet::new();
        let mut ended = std::collections::HashSet::new();
        let mut unknown = Vec::new();
        for e in batch.iter().filter(|e| is_run_event(e)) {
            let Ok(run) = e.aggregate_id.parse::<Uuid>() else {
                continue;
            };
            match e.event_type.as_str() {
                "RunQueued" => {
                    open.insert(run);
                    ended.remove(&run);
                }
                "RunCompleted" | "RunReconciled" => {
                    let known = open.contains(&run)
                        || (!ended.contains(&run) && self.open_runs.contains_key(&run));
                    if e.event_type == "RunReconciled" && !known && !unknown.contains(&run) {
                        unknown.push(run);
                    }
                    open.remove(&run);
                    ended.insert(run);
                }
                _ => {}
            }
        }
        unknown
    }

    /// Learns a run's scope from its `RunQueued` entry, read outside the range; kept
    /// until [`Redecider::end_batch`].
    pub fn learn_scope(&mut self, entry: &LogEntry) {
        if let Some((run, scope)) = queued_scope(entry) {
            self.learned.insert(run, scope);
        }
    }

    /// Forgets the scopes learned for the batch just fed.
    pub fn end_batch(&mut self) {
        self.learned.clear();
    }

    /// Feeds one entry; entries must come in commit (or leaf) order.
    pub fn feed(&mut self, entry: &LogEntry) {
        if !is_run_event(entry) {
            return;
        }
        let run_id = entry.aggregate_id.parse::<Uuid>().ok();
        match entry.event_type.as_str() {
            "RunQueued" => {
                if let Some((run, scope)) = queued_scope(entry) {
                    self.open_runs.insert(run, scope);
                }
            }
            "RunCompleted" => {
                if let Some(run) = run_id {
                    self.open_runs.remove(&run);
                }
            }
            "RunReconciled" => {
                let scope = run_id.and_then(|r| {
                    self.open_runs
                        .remove(&r)
                        .or_else(|| self.learned.get(&r).copied())
                });
                self.redecide(entry, run_id, scope);
            }
            _ => {}
        }
    }

    /// The report of everything fed.
    pub fn finish(self) -> RedecideReport {
        self.report
    }

    fn redecide(&mut self, entry: &LogEntry, run_id: Option<Uuid>, scope: Option<RunScope>) {
        let finding = |decided_by: String, kind| Finding {
            place: entry.place,
            run_id,
            decided_by,
            kind,
        };
        let decoded = upcasting::decode::<OperationRunEvent>(
            &entry.event_type,
            &entry.event_version,
            &entry.payload,
        );
        let Ok(OperationRunEvent::RunReconciled(event)) = decoded else {
            self.report.decisions += 1;
            self.report
                .add(finding("unknown".to_string(), FindingKind::Undecodable));
            return;
        };
        let recorded = event.reconciliation;
        let (name, decided_by) = decider(&recorded);
        if self.filter.adapter.as_deref().is_some_and(|f| f != name) {
            return;
        }
        self.report.decisions += 1;
        if let Some(kind) = out_of_scope(&recorded, scope) {
            self.report.add(finding(decided_by, kind));
            return;
        }
        let Some(today) = self.registry.redecide(&recorded) else {
            self.report
                .add(finding(decided_by, FindingKind::AdapterMissing));
            return;
        };
        if today.kind() == Some(recorded.decision) && today.reason() == recorded.reason_code {
            let tally = self.report.deciders.entry(decided_by).or_default();
            tally.agreed += 1;
            if scope.is_none() {
                tally.scope_unchecked += 1;
            }
            return;
        }
        let kind = FindingKind::Disagrees {
            recorded: DecisionSummary::recorded(recorded.decision, recorded.reason_code),
            today: DecisionSummary::today(&today),
        };
        self.report.add(finding(decided_by, kind));
    }
}

/// Re-decides every decision among `entries` (all of a log or a bundle, in order).
pub fn redecide<'a>(
    registry: &AdapterRegistry,
    filter: RedecideFilter,
    entries: impl IntoIterator<Item = &'a LogEntry>,
) -> RedecideReport {
    let mut redecider = Redecider::new(registry, filter);
    for entry in entries {
        redecider.feed(entry);
    }
    redecider.finish()
}

fn is_run_event(entry: &LogEntry) -> bool {
    entry.aggregate_type == RecordKind::OperationRun.stream_type()
}

fn queued_scope(entry: &LogEntry) -> Option<(Uuid, RunScope)> {
    if !is_run_event(entry) || entry.event_type != "RunQueued" {
        return None;
    }
    match upcasting::decode::<OperationRunEvent>(
        &entry.event_type,
        &entry.event_version,
        &entry.payload,
    ) {
        Ok(OperationRunEvent::RunQueued(q)) => Some((
            q.run_id,
            RunScope {
                workspace_id: q.workspace_id,
                environment_id: q.environment_id,
            },
        )),
        _ => None,
    }
}

/// The decider's name (what `--adapter` matches) and how it is reported.
fn decider(recorded: &Reconciliation) -> (String, String) {
    match (recorded.source, &recorded.adapter) {
        (ReconciliationSource::Stale, _) => (STALE.to_string(), STALE.to_string()),
        (ReconciliationSource::Adapter, Some(a)) => (a.name.clone(), a.to_string()),
        (ReconciliationSource::Adapter, None) => ("unknown".to_string(), "unknown".to_string()),
    }
}

/// Whether the evidence names a workspace or environment other than the run's own: the
/// run's scope as the evidence records it, and the scope the adapter read (when kept).
fn out_of_scope(recorded: &Reconciliation, run: Option<RunScope>) -> Option<FindingKind> {
    let run = run?;
    let evidence = &recorded.evidence;
    let mut read = Vec::new();
    if let Some(ws) = evidence.workspace_id {
        read.push((ws, evidence.environment_id));
    }
    if let Some(scope) = &evidence.scope {
        read.push((scope.workspace_id, scope.environment_id));
    }
    read.into_iter()
        .find(|(ws, env)| *ws != run.workspace_id || *env != run.environment_id)
        .map(
            |(read_workspace, read_environment)| FindingKind::OutOfScope {
                read_workspace,
                read_environment,
                run,
            },
        )
}
