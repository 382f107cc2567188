//! `runproof replay [--verify]`.

use std::process::ExitCode;
use std::time::Duration;

use runproof_domain::ReasonCode;
use runproof_projections::rebuild::{self, Difference};
use serde_json::json;

use super::error::{CliError, EXIT_DIFFERENCES};
use super::out::Out;
use super::progress::CliProgress;
use super::text::UiText;
use crate::app::App;

pub async fn replay(
    app: &App,
    verify: bool,
    lock_timeout: Duration,
    out: &Out,
) -> Result<ExitCode, CliError> {
    let progress = CliProgress::new(out.lang);
    let projector = app.projector.clone().with_lock_timeout(lock_timeout);
    if !verify {
        let report = rebuild::rebuild(&projector, &progress)
            .await
            .map_err(|e| CliError::from_projector(&e))?;
        if out.json {
            let items: Vec<_> = report
                .projections
                .iter()
                .map(|(name, at, events)| json!({"projection": name, "position": at.position, "transaction_id": at.transaction_id, "events": events}))
                .collect();
            out.json(&json!({
                "rebuilt": items,
                "created": report.created,
                "removed_leftovers": report.removed_leftovers,
            }));
        } else {
            say_removed(out, &report.removed_leftovers);
            for table in &report.created {
                out.say(UiText::ReplayCreated, &[("table", table)]);
            }
            for (name, at, events) in &report.projections {
                out.say(
                    UiText::ReplayDone,
                    &[
                        ("projection", name),
                        ("events", &events.to_string()),
                        ("position", &at.position.to_string()),
                    ],
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    let report = rebuild::verify(&projector, &progress)
        .await
        .map_err(|e| CliError::from_projector(&e))?;
    if out.json {
        let diffs: Vec<_> = report
            .differences
            .iter()
            .map(|d| match &d.difference {
                Difference::MissingInLive => json!({"table": d.table, "key": d.key, "kind": "missing_in_live"}),
                Difference::MissingInRebuild => json!({"table": d.table, "key": d.key, "kind": "missing_in_rebuild"}),
                Difference::Columns(cols) => json!({
                    "table": d.table, "key": d.key, "kind": "columns_differ",
                    "columns": cols.iter().map(|(c, l, r)| json!({"column": c, "live": l, "rebuilt": r})).collect::<Vec<_>>(),
                }),
            })
            .collect();
        out.json(&json!({
            "clean": report.is_clean(),
            "differences": diffs,
            "missing_tables": report.missing_tables,
            "removed_leftovers": report.removed_leftovers,
        }));
    } else {
        say_removed(out, &report.removed_leftovers);
        for table in &report.missing_tables {
            out.say(UiText::VerifyTableMissing, &[("table", table)]);
        }
        for d in &report.differences {
            let key = d.key.as_str();
            match &d.difference {
                Difference::MissingInLive => out.say(
                    UiText::VerifyMissingInLive,
                    &[("table", d.table), ("key", key)],
                ),
                Difference::MissingInRebuild => out.say(
                    UiText::VerifyMissingInRebuild,
                    &[("table", d.table), ("key", key)],
                ),
                Difference::Columns(cols) => {
                    for (column, live, rebuilt) in cols {
                        out.say(
                            UiText::VerifyColumn,
                            &[
                                ("table", d.table),
                                ("key", key),
                                ("column", column),
                                ("live", &live.to_string()),
                                ("rebuilt", &rebuilt.to_string()),
                            ],
                        );
                    }
                }
            }
        }
        if report.is_clean() {
            for t in &report.tables {
                let (name, at, rows) = (t.table, t.compared_at, t.rows);
                out.say(
                    UiText::VerifyClean,
                    &[
                        ("projection", name),
                        ("rows", &rows.to_string()),
                        ("position", &at.position.to_string()),
                    ],
                );
            }
        }
    }
    if report.is_clean() {
        return Ok(ExitCode::SUCCESS);
    }
    // One line: a missing table first (its remedy also repairs any differing rows).
    let (reason, args) = if report.missing_tables.is_empty() {
        (
            ReasonCode::ReplayDifferences,
            vec![("count", report.differences.len().to_string())],
        )
    } else {
        (
            ReasonCode::ReplayTableMissing,
            vec![("tables", report.missing_tables.join(", "))],
        )
    };
    eprintln!(
        "{}",
        CliError {
            reason,
            args,
            exit: EXIT_DIFFERENCES,
        }
        .message(out.lang)
    );
    Ok(ExitCode::from(EXIT_DIFFERENCES))
}

/// Says what an interrupted replay or verify had left behind and this one removed.
fn say_removed(out: &Out, removed: &[String]) {
    if !removed.is_empty() {
        out.say(
            UiText::ReplayLeftoversRemoved,
            &[("names", &removed.join(", "))],
        );
    }
}
