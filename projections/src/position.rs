//! A place in the log's commit order.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `(transaction id, position)`: the log's total order.
///
/// Events are read in this order and only below the oldest transaction still running,
/// so once a reader has passed a position no event can appear before it later. The
/// derived `Ord` compares the transaction id first, then the position.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct LogPosition {
    /// The writing transaction (`xid8`, as a signed integer; real ids stay far below 2^63).
    pub transaction_id: i64,
    /// The event's global position within the log.
    pub position: i64,
}

impl LogPosition {
    /// Before the first event.
    pub const START: LogPosition = LogPosition {
        transaction_id: 0,
        position: 0,
    };
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@tx{}", self.position, self.transaction_id)
    }
}
