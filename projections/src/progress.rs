//! Progress reporting for long projector work (rebuilds, verifies).

/// Receives progress; the binary renders it as a bar or as periodic lines.
pub trait Progress: Send + Sync {
    /// A new phase starts; `total` events are expected when known.
    fn begin(&self, phase: &str, total: Option<u64>);
    /// `n` more events were applied.
    fn advance(&self, n: u64);
    /// The phase is done.
    fn finish(&self);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _phase: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}
