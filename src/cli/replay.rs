//! `runproof replay [--verify]`.

use std::process::ExitCode;

use runproof_domain::ReasonCode;
use runproof_projections::rebuild::{self, Difference};
use serde_json::json;

use super::error::{CliError, EXIT_DIFFERENCES};
use super::out::Out;
use super::progress::CliProgress;
use super::text::UiText;
use crate::app::App;

pub async fn replay(app: &App, verify: bool, out: &Out) -> Result<ExitCode, CliError> {
    let progress = CliProgress::new(out.lang);
    if !verify {
        let report = rebuild::rebuild(&app.projector, &progress)
            .await
            .map_err(|e| CliError::from_projector(&e))?;
        if out.json {
            let items: Vec<_> = report
                .projections
                .iter()
                .map(|(name, at, events)| json!({"projection": name, "position": at.position, "transaction_id": at.transaction_id, "events": events}))
                .collect();
            out.json(&json!({ "rebuilt": items }));
        } else {
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

    let report = rebuild::verify(&app.projector, &progress)
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
        out.json(&json!({ "clean": report.is_clean(), "differences": diffs }));
    } else {
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
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{}",
            CliError {
                reason: ReasonCode::ReplayDifferences,
                args: vec![("count", report.differences.len().to_string())],
                exit: EXIT_DIFFERENCES,
            }
            .message(out.lang)
        );
        Ok(ExitCode::from(EXIT_DIFFERENCES))
    }
}
