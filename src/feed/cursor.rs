//! The feed's cursor: an opaque token for a place in the log's commit order.
//!
//! It carries the `(transaction id, position)` pair the projector checkpoints by — a
//! position alone would let a reader pass an event whose transaction commits late
//! (docs/adr/0001-commit-order.md). Clients store it and hand it back (`after`,
//! `Last-Event-ID`); they never look inside. The text is base64url of
//! `1.<transaction id>.<position>`: the leading `1` is the format, so a later format can
//! be told apart.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use runproof_projections::LogPosition;

/// A place in the log: the feed goes on after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(LogPosition);

/// A cursor this server did not hand out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a feed cursor")]
pub struct InvalidCursor;

const FORMAT: &str = "1";

impl Cursor {
    /// Before the first event: a feed read from here starts at the beginning of the log.
    pub const START: Cursor = Cursor(LogPosition::START);

    pub fn at(position: LogPosition) -> Cursor {
        Cursor(position)
    }

    /// The place in the log.
    pub fn position(self) -> LogPosition {
        self.0
    }

    /// The opaque text handed to clients.
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{FORMAT}.{}.{}",
            self.0.transaction_id, self.0.position
        ))
    }

    /// A cursor as [`Cursor::encode`] wrote it, or [`InvalidCursor`]. Only the exact text
    /// it writes is accepted (no padding, no leading zeros, no negative numbers).
    pub fn decode(text: &str) -> Result<Cursor, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| InvalidCursor)?;
        let text_inside = String::from_utf8(bytes).map_err(|_| InvalidCursor)?;
        let mut parts = text_inside.split('.');
        let (Some(FORMAT), Some(tx), Some(pos), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidCursor);
        };
        let number = |s: &str| -> Result<i64, InvalidCursor> {
            let n: i64 = s.parse().map_err(|_| InvalidCursor)?;
            (n >= 0 && n.to_string() == s)
                .then_some(n)
                .ok_or(InvalidCursor)
        };
        Ok(Cursor(LogPosition {
            transaction_id: number(tx)?,
            position: number(pos)?,
        }))
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(transaction_id: i64, position: i64) -> Cursor {
        Cursor::at(LogPosition {
            transaction_id,
            position,
        })
    }

    #[test]
    fn a_cursor_reads_back_as_the_place_it_was_written_for() {
        for c in [Cursor::START, at(1, 1), at(7_400_000_123, 98_765_432_101)] {
            assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        }
    }

    #[test]
    fn a_cursor_orders_by_transaction_first_then_position() {
        assert!(at(5, 100) < at(6, 1));
        assert!(at(6, 1) < at(6, 2));
    }

    #[test]
    fn anything_runproof_did_not_write_is_refused() {
        let forged = |s: &str| URL_SAFE_NO_PAD.encode(s);
        for bad in [
            String::new(),
            "not base64!".to_string(),
            forged("1.5"),
            forged("2.5.6"),
            forged("1.5.6.7"),
            forged("1.-5.6"),
            forged("1.05.6"),
            forged("1.5.x"),
            forged("1.99999999999999999999.1"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
        ] {
            assert_eq!(Cursor::decode(&bad), Err(InvalidCursor), "{bad}");
        }
    }
}
