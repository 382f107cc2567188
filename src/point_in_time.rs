//! The engine's view at an earlier point: "what did it believe at 03:12, and why?"
//!
//! A point is asked as a log position or a time ([`AsOf`]) and resolved against the log
//! into a [`Cut`]: a place in the log's commit order — the order the projector reads,
//! `(transaction id, position)`. The events at or before the cut are exactly what a
//! projector that had read up to there had applied; a run, its history and the runs list
//! "as of" a point are folded from that prefix with the projection's own fold
//! ([`runproof_projections::operation_runs::fold_run`],
//! [`runproof_projections::as_of`]). Nothing here decides anything: the fold is the
//! domain's, and this module only reads events.
//!
//! # A position
//! The `position` an event shows in `history` (and on the console's timeline). The cut
//! is that event's place in commit order: every event of a transaction that committed
//! before it, and the events before it in its own transaction. A position must belong to
//! an event readers can read now: a number beyond the last readable position, and one no
//! readable event holds (an aborted write took it, or its write is still in progress),
//! are refused.
//!
//! # A time
//! PostgreSQL records no commit time; every event records when it happened
//! (`occurred_at` in its metadata: the writer's clock, to the microsecond). A time T
//! cuts the log after the **last event in commit order that occurred at or before T**.
//! So the view includes everything recorded at or before T, and nothing that committed
//! after the last such event. Events that committed before that event but record a time
//! after T — a concurrent writer a moment later, or a writer whose clock runs ahead — are
//! included too, because a projector that had read up to the cut had applied them; the
//! answer names the cut's position, so the prefix shown is exact either way. A time
//! before the first event cuts before it (nothing existed yet); a time after now is
//! refused. An event whose metadata holds no readable time is passed over when looking
//! for the cut (it is still folded when it lies before it).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use runproof_domain::metadata::EventMetadata;
use runproof_domain::{Lang, ReasonCode};
use runproof_projections::log::{self, StoredEvent};
use runproof_projections::operation_runs::{self, RunRow};
use runproof_projections::{LogPosition, ProjectorError};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::cli::text::UiText;
use crate::clock::to_micros;
use crate::explain::when;
use crate::lifecycle::RUN_AGGREGATE;

/// How many events are read per step while looking backwards for a time's cut.
const TIME_SCAN_BATCH: i64 = 5_000;

/// A point as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AsOf {
    /// A log position (from 1).
    Position(i64),
    /// An instant (UTC, to the microsecond).
    Time(DateTime<Utc>),
}

impl FromStr for AsOf {
    type Err = AsOfError;

    /// A whole number from 1 is a position; otherwise an RFC 3339 time
    /// (`2026-03-01T03:12:00Z`, `2026-03-01T04:12:00+01:00`; a space may stand for the
    /// `T`), or the same without an offset, read as UTC (`2026-03-01 03:12`,
    /// `2026-03-01T03:12:05.250`). Anything else, a negative number and zero included,
    /// is refused.
    fn from_str(s: &str) -> Result<AsOf, AsOfError> {
        let value = s.trim();
        let invalid = || AsOfError::Invalid {
            value: s.to_string(),
        };
        let digits = value.strip_prefix('-').unwrap_or(value);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return match value.parse::<i64>() {
                Ok(n) if n >= 1 => Ok(AsOf::Position(n)),
                _ => Err(invalid()),
            };
        }
        let spaced = value.replacen(' ', "T", 1);
        if let Ok(t) = DateTime::parse_from_rfc3339(&spaced) {
            return Ok(AsOf::Time(to_micros(t.with_timezone(&Utc))));
        }
        let naive = spaced.strip_suffix('Z').unwrap_or(&spaced);
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
                return Ok(AsOf::Time(to_micros(t.and_utc())));
            }
        }
        Err(invalid())
    }
}

/// Why a point cannot be shown. Each is refused with its reason code (exit code 2 on the
/// command line, a 400 page in the console); nothing is read or written past it.
#[derive(Debug, thiserror::Error)]
pub enum AsOfError {
    /// Neither a position nor a time.
    #[error("not a point in time: {value}")]
    Invalid { value: String },
    /// A position past the last readable event.
    #[error("position {position} is beyond the log (last readable {last})")]
    BeyondLog { position: i64, last: i64 },
    /// A position within the log that no readable event holds.
    #[error("no readable event at position {position}")]
    NoEvent { position: i64 },
    /// A time after now.
    #[error("{time} is in the future")]
    Future {
        time: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    /// The log could not be read: report as an internal failure.
    #[error("reading the log failed")]
    Database(#[from] sqlx::Error),
}

impl AsOfError {
    /// The refusal's reason code and arguments; `None` for a database failure (an
    /// internal error, its cause logged by the caller).
    pub fn refusal(&self) -> Option<(ReasonCode, Vec<(&'static str, String)>)> {
        Some(match self {
            AsOfError::Invalid { value } => {
                (ReasonCode::AsOfInvalid, vec![("value", value.clone())])
            }
            AsOfError::BeyondLog { position, last } => (
                ReasonCode::AsOfBeyondLog,
                vec![
                    ("position", position.to_string()),
                    ("last", last.to_string()),
                ],
            ),
            AsOfError::NoEvent { position } => (
                ReasonCode::AsOfNoEvent,
                vec![("position", position.to_string())],
            ),
            AsOfError::Future { time, now } => (
                ReasonCode::AsOfFuture,
                vec![("time", when_exact(*time)), ("now", when_exact(*now))],
            ),
            AsOfError::Database(_) => return None,
        })
    }
}

/// A time as the answers show it: to the second, or to the microsecond when it has a
/// fraction (so two points a moment apart do not read the same).
fn when_exact(t: DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        when(t)
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string()
    }
}

/// A point resolved against the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// The point as asked.
    pub asked: AsOf,
    /// The last event included, in commit order; [`LogPosition::START`] when the cut
    /// lies before the first event.
    pub last: LogPosition,
    /// The instant the cut stands for: the time asked, or the time the event at the
    /// asked position records (`None` when its metadata holds none).
    pub time: Option<DateTime<Utc>>,
}

/// A cut as `--json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AsOfView {
    /// The point asked: `{"position": N}` or `{"time": T}`.
    pub asked: AsOf,
    /// The last event included (0: before the first event).
    pub position: i64,
    pub transaction_id: i64,
    /// The instant the cut stands for.
    pub time: Option<DateTime<Utc>>,
}

impl Cut {
    /// Whether the event at `at` lies at or before the cut.
    pub fn includes(&self, at: LogPosition) -> bool {
        self.last != LogPosition::START && at <= self.last
    }

    /// The last included event's position (0 before the first event).
    pub fn position(&self) -> i64 {
        self.last.position
    }

    /// The time "needs attention" and stale thresholds are judged at: the cut's instant,
    /// else `fallback` (now).
    pub fn judged_at(&self, fallback: DateTime<Utc>) -> DateTime<Utc> {
        self.time.unwrap_or(fallback)
    }

    /// The line that says which point an answer shows.
    pub fn describe(&self, lang: Lang) -> String {
        let position = self.position().to_string();
        match (self.asked, self.time) {
            (AsOf::Time(t), _) if self.last == LogPosition::START => {
                UiText::AsOfTimeBeforeLog.render(lang, &[("time", &when_exact(t))])
            }
            (AsOf::Time(t), _) => {
                UiText::AsOfTime.render(lang, &[("time", &when_exact(t)), ("position", &position)])
            }
            (AsOf::Position(_), Some(t)) => UiText::AsOfPosition
                .render(lang, &[("position", &position), ("time", &when_exact(t))]),
            (AsOf::Position(_), None) => {
                UiText::AsOfPositionUntimed.render(lang, &[("position", &position)])
            }
        }
    }

    /// The point in a sentence ("did not exist at …"): the position or the time asked.
    pub fn point(&self, lang: Lang) -> String {
        match self.asked {
            AsOf::Position(p) => UiText::AtPosition.render(lang, &[("position", &p.to_string())]),
            AsOf::Time(t) => when_exact(t),
        }
    }

    /// The JSON form.
    pub fn view(&self) -> AsOfView {
        AsOfView {
            asked: self.asked,
            position: self.last.position,
            transaction_id: self.last.transaction_id,
            time: self.time,
        }
    }
}

/// The time an event's metadata (as stored) records.
fn occurred_at(metadata: &str) -> Option<DateTime<Utc>> {
    let map: HashMap<String, String> = serde_json::from_str(metadata).ok()?;
    EventMetadata::from_map(&map).ok().map(|m| m.occurred_at)
}

/// Resolves `asked` against the log as readers can read it now; `now` refuses a time
/// after it.
pub async fn resolve(pool: &PgPool, asked: AsOf, now: DateTime<Utc>) -> Result<Cut, AsOfError> {
    let mut conn = pool.acquire().await?;
    match asked {
        AsOf::Position(position) => match log::readable_at(&mut conn, position).await? {
            Some((at, metadata)) => Ok(Cut {
                asked,
                last: at,
                time: occurred_at(&metadata),
            }),
            None => {
                let last = log::last_readable_position(&mut conn).await?.unwrap_or(0);
                if position > last {
                    Err(AsOfError::BeyondLog { position, last })
                } else {
                    Err(AsOfError::NoEvent { position })
                }
            }
        },
        AsOf::Time(time) => {
            if time > now {
                return Err(AsOfError::Future { time, now });
            }
            let mut before = None;
            loop {
                let batch = log::metadata_before(&mut conn, before, TIME_SCAN_BATCH).await?;
                let Some(&(oldest, _)) = batch.last() else {
                    return Ok(Cut {
                        asked,
                        last: LogPosition::START,
                        time: Some(time),
                    });
                };
                let found = batch
                    .iter()
                    .find(|(_, m)| occurred_at(m).is_some_and(|t| t <= time));
                if let Some(&(at, _)) = found {
                    return Ok(Cut {
                        asked,
                        last: at,
                        time: Some(time),
                    });
                }
                before = Some(oldest);
            }
        }
    }
}

/// A run as it stood at a cut.
#[derive(Debug, Clone)]
pub struct RunAsOf {
    /// The run folded from its events up to the cut, as the projection folds them.
    pub row: RunRow,
    /// Its events up to the cut, in sequence order.
    pub events: Vec<StoredEvent>,
}

impl RunAsOf {
    /// The run right before its event at `position`, and right after it (when that is
    /// one of its events up to the cut): what the event changed. The state before the
    /// run's first event is `None`.
    pub fn around(
        &self,
        position: i64,
    ) -> Result<Option<(Option<RunRow>, RunRow)>, ProjectorError> {
        let Some(i) = self.events.iter().position(|e| e.at.position == position) else {
            return Ok(None);
        };
        let before = operation_runs::fold_run(&self.events[..i]).map_err(stopped)?;
        let after = operation_runs::fold_run(&self.events[..=i]).map_err(stopped)?;
        Ok(after.map(|after| (before, after)))
    }
}

fn stopped(source: runproof_projections::ProjectionError) -> ProjectorError {
    ProjectorError::Stopped {
        projection: operation_runs::NAME,
        source,
    }
}

/// Run `id` as the log stood at `cut`: its events up to the cut folded with the
/// projection's fold. `None` when it had no event by then (or has none at all).
pub async fn run(pool: &PgPool, id: Uuid, cut: &Cut) -> Result<Option<RunAsOf>, ProjectorError> {
    let mut conn = pool.acquire().await?;
    let events: Vec<StoredEvent> = log::read_stream(&mut conn, RUN_AGGREGATE, &id.to_string())
        .await?
        .into_iter()
        .filter(|e| cut.includes(e.at))
        .collect();
    let Some(row) = operation_runs::fold_run(&events).map_err(stopped)? else {
        return Ok(None);
    };
    Ok(Some(RunAsOf { row, events }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn time(s: &str) -> AsOf {
        AsOf::Time(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    #[test]
    fn a_whole_number_from_one_is_a_position() {
        assert_eq!("42".parse::<AsOf>().unwrap(), AsOf::Position(42));
        assert_eq!(" 7 ".parse::<AsOf>().unwrap(), AsOf::Position(7));
    }

    #[test]
    fn zero_a_negative_number_and_garbage_are_refused_as_invalid() {
        for value in [
            "0",
            "-3",
            "-0",
            "",
            "yesterday",
            "3.5",
            "12abc",
            "99999999999999999999",
        ] {
            let refused = value.parse::<AsOf>().unwrap_err();
            assert!(
                matches!(&refused, AsOfError::Invalid { value: v } if v == value),
                "{value}: {refused:?}"
            );
            assert_eq!(refused.refusal().unwrap().0, ReasonCode::AsOfInvalid);
        }
    }

    #[test]
    fn a_time_is_rfc_3339_or_the_same_without_an_offset_read_as_utc() {
        let t = time("2026-03-01T03:12:00Z");
        for value in [
            "2026-03-01T03:12:00Z",
            "2026-03-01T04:12:00+01:00",
            "2026-03-01 03:12:00Z",
            "2026-03-01T03:12:00",
            "2026-03-01 03:12",
            "2026-03-01T03:12",
        ] {
            assert_eq!(value.parse::<AsOf>().unwrap(), t, "{value}");
        }
        assert_eq!(
            "2026-03-01T03:12:00.250".parse::<AsOf>().unwrap(),
            time("2026-03-01T03:12:00.250Z")
        );
    }

    #[test]
    fn a_time_is_kept_to_the_microsecond_like_the_log() {
        assert_eq!(
            "2026-03-01T03:12:00.123456789Z".parse::<AsOf>().unwrap(),
            time("2026-03-01T03:12:00.123456Z")
        );
    }

    #[test]
    fn a_date_without_a_time_is_refused() {
        assert!("2026-03-01".parse::<AsOf>().is_err());
    }

    #[test]
    fn a_cut_before_the_first_event_includes_nothing() {
        let cut = Cut {
            asked: time("2026-03-01T03:12:00Z"),
            last: LogPosition::START,
            time: None,
        };
        assert!(!cut.includes(LogPosition {
            transaction_id: 1,
            position: 1
        }));
        assert_eq!(
            cut.describe(Lang::En),
            "As of 2026-03-01 03:12:00 UTC: before the first event of the log."
        );
    }

    #[test]
    fn a_cut_includes_what_lies_at_or_before_it_in_commit_order() {
        let last = LogPosition {
            transaction_id: 10,
            position: 5,
        };
        let cut = Cut {
            asked: AsOf::Position(5),
            last,
            time: None,
        };
        assert!(cut.includes(last));
        // A transaction that committed before it, with a later position.
        assert!(cut.includes(LogPosition {
            transaction_id: 9,
            position: 7
        }));
        assert!(!cut.includes(LogPosition {
            transaction_id: 11,
            position: 4
        }));
        assert_eq!(cut.describe(Lang::De), "Stand: Log-Position 5.");
    }
}
