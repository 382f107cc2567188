//! Logging: `tracing` to stderr, filtered by `RUST_LOG`. One-shot commands log nothing by
//! default — the screen is for what a person reads, and cause chains belong in logs —
//! while long-running services log warnings and lifecycle messages.

use tracing_subscriber::EnvFilter;

fn install(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// For one-shot commands: silent unless `RUST_LOG` asks for more.
pub fn init() {
    install("off");
}

/// For long-running services (projector, worker, reconciler loop): info and above.
/// Only takes effect if no subscriber was installed yet.
pub fn init_for_service() {
    install("info");
}
