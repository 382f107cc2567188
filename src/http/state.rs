//! What every handler reaches: the services (one `App`, whose pool bounds every database
//! call made for a request), the limits, and the metrics recorder.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::app::App;
use crate::database::DatabaseTarget;

/// Limits of the HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a request may take, database calls included.
    pub request_timeout: Duration,
    /// Requests served at once; more are refused with 503 and `Retry-After`.
    pub max_concurrent_requests: usize,
    /// The largest request body accepted (evidence documents included).
    pub max_body_bytes: usize,
    /// Readiness: at most this many events may wait for the projections.
    pub ready_max_lag_events: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(10),
            max_concurrent_requests: 64,
            max_body_bytes: 1024 * 1024,
            ready_max_lag_events: 10_000,
        }
    }
}

/// The state shared by all handlers. Every request clones it: one reference count, not
/// a copy of every service (handlers read the fields through `Deref`).
#[derive(Clone)]
pub struct ApiState(Arc<Shared>);

/// What [`ApiState`] holds.
pub struct Shared {
    pub app: App,
    /// Where the database is (named, without credentials, in readiness answers).
    pub target: DatabaseTarget,
    pub limits: Limits,
    pub metrics: PrometheusHandle,
    /// The operator console's session rules.
    pub console: crate::console::Settings,
}

impl ApiState {
    pub fn new(shared: Shared) -> Self {
        ApiState(Arc::new(shared))
    }

    /// The same state with the feed served with `settings`.
    pub fn with_feed(self, settings: crate::feed::FeedSettings) -> Self {
        let s = &self.0;
        ApiState::new(Shared {
            app: s.app.clone().with_feed(settings),
            target: s.target.clone(),
            limits: s.limits,
            metrics: s.metrics.clone(),
            console: s.console,
        })
    }

    /// The same state with other console session rules.
    pub fn with_console(self, console: crate::console::Settings) -> Self {
        let s = &self.0;
        ApiState::new(Shared {
            app: s.app.clone(),
            target: s.target.clone(),
            limits: s.limits,
            metrics: s.metrics.clone(),
            console,
        })
    }
}

impl Deref for ApiState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
