//! Telling the person when the views lag behind the log: after a write whose
//! read-your-writes wait timed out, in `project`, and when a run is in the log but not
//! yet in the view. Each names what holds the read horizon back, as far as the
//! database role can see it.

use runproof_domain::ReasonCode;
use runproof_projections::log::HorizonHolder;
use serde_json::Value;

use super::out::Out;
use super::text::UiText;
use crate::explain::when;
use crate::writer::Lag;

/// Who holds the read horizon, as a phrase in the output's language.
pub fn holder_text(holder: &HorizonHolder, out: &Out) -> String {
    match holder {
        HorizonHolder::Session {
            pid,
            database,
            since,
            age_seconds,
        } => {
            let (pid, database) = (pid.to_string(), database.as_deref().unwrap_or("-"));
            match (since, age_seconds) {
                (Some(since), Some(age)) => UiText::HolderSession.render(
                    out.lang,
                    &[
                        ("pid", &pid),
                        ("database", database),
                        ("age", &age.to_string()),
                        ("since", &when(*since)),
                    ],
                ),
                // PostgreSQL hides another role's transaction start from this role.
                _ => UiText::HolderSessionHidden
                    .render(out.lang, &[("pid", &pid), ("database", database)]),
            }
        }
        HorizonHolder::Unseen => UiText::HolderUnseen.text(out.lang),
    }
}

/// Why the views do not show something yet: held back by `holder`, or (without one)
/// still working through the log.
pub fn cause_text(holder: Option<&HorizonHolder>, out: &Out) -> String {
    match holder {
        Some(holder) => {
            UiText::CauseHeld.render(out.lang, &[("holder", &holder_text(holder, out))])
        }
        None => UiText::CauseBehind.text(out.lang),
    }
}

/// The sentence for a write the views do not show yet.
pub fn lag_text(lag: &Lag, out: &Out) -> String {
    UiText::Lagging.render(
        out.lang,
        &[("cause", &cause_text(lag.held_by.as_ref(), out))],
    )
}

/// Prints the lag as one warning line on stderr (stdout stays the command's answer,
/// JSON included).
pub fn warn(lag: &Lag, out: &Out) {
    eprintln!(
        "warning: {} [{}]",
        lag_text(lag, out),
        ReasonCode::ProjectionLagging
    );
}

/// The `lag` field of a write command's JSON answer: `null` when the views showed the
/// write, else the positions, the holder and the sentence.
pub fn json(lag: Option<Lag>, out: &Out) -> Value {
    match lag {
        None => Value::Null,
        Some(lag) => serde_json::json!({
            "reason": ReasonCode::ProjectionLagging,
            "message": lag_text(&lag, out),
            "target": lag.target,
            "reached": lag.reached,
            "held_by": lag.held_by,
        }),
    }
}
