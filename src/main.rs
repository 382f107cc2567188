//! The `runproof` binary: parse, run, print one line on failure.

use std::process::ExitCode;

use clap::Parser;
use runproof::cli::{self, Cli, Command};
use runproof::telemetry;

/// mimalloc instead of the system allocator: an append builds, serialises and drops many
/// small strings and JSON values, and glibc's malloc and free were the largest single
/// item of the process's CPU per run lifecycle (docs/benchmarks.md, "Lifecycles").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::usage_error(e),
    };
    match &cli.command {
        Command::Project { once: false, .. }
        | Command::Reconcile { watch: true, .. }
        | Command::Worker { once: false, .. }
        | Command::Serve(_)
        | Command::Relay(_) => telemetry::init_for_service(),
        _ => telemetry::init(),
    }
    // Named failpoints (FAILPOINTS=name=action) exist only in builds with the feature.
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    let lang = cli.lang;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", e.message(lang));
            e.exit_code()
        }
    }
}
