//! `runproof audit redecide`: every recorded decision decided again from its recorded
//! evidence with this build's decision functions (docs/audit.md, "Re-deciding
//! decisions"). Exit 0 when every decision agrees, 1 when any does not.

use std::process::ExitCode;

use clap::Args;
use runproof_domain::reconciliation::AdapterRef;
use runproof_domain::ReasonCode;
use serde_json::json;

use super::error::{CliError, EXIT_DIFFERENCES};
use super::out::Out;
use super::text::UiText;
use super::Opener;
use crate::audit::redecide::{RedecideFilter, RedecideReport};
use crate::audit::redecide_log::{self, RedecideLogError, Since};

/// `audit redecide` options.
#[derive(Debug, Clone, Args)]
pub struct RedecideArgs {
    /// Only decisions recorded at or after the event at this log position (in commit
    /// order), as `runproof history` shows positions.
    #[arg(long, value_name = "POSITION", value_parser = clap::value_parser!(i64).range(1..))]
    pub since: Option<i64>,
    /// Only decisions of this adapter (its name, e.g. restore or review-compose; `stale`
    /// for the stale-run path).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
}

pub async fn run(args: RedecideArgs, opener: &Opener, out: &Out) -> Result<ExitCode, CliError> {
    let adapter = args
        .adapter
        .map(|name| match AdapterRef::new(&name, "0") {
            Ok(_) => Ok(name),
            Err(_) => Err(CliError::input(
                ReasonCode::AuditRedecideAdapterInvalid,
                vec![],
            )),
        })
        .transpose()?;
    let since = args.since.map_or(Since::Start, Since::Position);
    let app = opener.open().await?;
    let registry = crate::reconciliation::registry(&app).map_err(|e| CliError::internal(&e))?;
    let report =
        redecide_log::redecide_log(&app.pool, &registry, since, RedecideFilter { adapter })
            .await
            .map_err(|e| match e {
                RedecideLogError::NoPosition { position, last } => CliError::input(
                    ReasonCode::AuditRedecideNoPosition,
                    vec![
                        ("position", position.to_string()),
                        ("last", last.to_string()),
                    ],
                ),
                RedecideLogError::Database(ref d) => CliError::internal(d),
            })?;
    Ok(print(&report, out))
}

/// Prints the report (table and findings, or JSON) and gives the exit code.
pub fn print(report: &RedecideReport, out: &Out) -> ExitCode {
    if out.json {
        let findings: Vec<_> = report
            .findings
            .iter()
            .map(|f| {
                let (reason, args) = f.reason(out.lang);
                let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let mut value = serde_json::to_value(f).unwrap_or_default();
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("reason".into(), json!(reason.code()));
                    obj.insert("message".into(), json!(reason.render(out.lang, &args)));
                }
                value
            })
            .collect();
        let deciders: Vec<_> = report
            .deciders
            .iter()
            .map(|(by, t)| {
                json!({
                    "decided_by": by,
                    "agreed": t.agreed,
                    "disagreed": t.disagreed,
                    "out_of_scope": t.out_of_scope,
                    "not_redecidable": t.not_redecidable,
                    "scope_unchecked": t.scope_unchecked,
                })
            })
            .collect();
        out.json(&json!({
            "all_agree": report.all_agree(),
            "decisions": report.decisions,
            "deciders": deciders,
            "findings": findings,
            "omitted": report.omitted,
            "unread": report.unread,
        }));
    } else {
        print_table(report, out);
        for f in &report.findings {
            let (reason, args) = f.reason(out.lang);
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            out.line(format!("{} [{reason}]", reason.render(out.lang, &args)));
        }
        if report.omitted > 0 {
            out.say(
                UiText::AuditRedecideOmitted,
                &[("count", &report.omitted.to_string())],
            );
        }
        if report.unread > 0 {
            out.say(
                UiText::AuditRedecideUnread,
                &[("count", &report.unread.to_string())],
            );
        }
        let unchecked: u64 = report.deciders.values().map(|t| t.scope_unchecked).sum();
        if unchecked > 0 {
            out.say(
                UiText::AuditRedecideScopeUnchecked,
                &[("count", &unchecked.to_string())],
            );
        }
        if report.all_agree() {
            out.say(
                UiText::AuditRedecideClean,
                &[("total", &report.decisions.to_string())],
            );
        }
    }
    if report.all_agree() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "{}",
        CliError {
            reason: ReasonCode::AuditRedecideFailed,
            args: vec![
                ("count", report.finding_count().to_string()),
                ("total", report.decisions.to_string()),
            ],
            exit: EXIT_DIFFERENCES,
        }
        .message(out.lang)
    );
    ExitCode::from(EXIT_DIFFERENCES)
}

/// One row per decider: agreements, disagreements, out-of-scope, not re-decidable.
fn print_table(report: &RedecideReport, out: &Out) {
    let header: Vec<String> = out
        .t(UiText::AuditRedecideHeader)
        .split('|')
        .map(str::to_string)
        .collect();
    let rows: Vec<Vec<String>> = report
        .deciders
        .iter()
        .map(|(by, t)| {
            vec![
                by.clone(),
                t.agreed.to_string(),
                t.disagreed.to_string(),
                t.out_of_scope.to_string(),
                t.not_redecidable.to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            std::iter::once(&header)
                .chain(rows.iter())
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.line(cells.join("  ").trim_end());
    }
}
