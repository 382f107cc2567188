//! `runproof bench`: placeholder until the benchmark lands in this session.
use clap::Args;

use crate::cli::error::CliError;
use crate::cli::out::Out;
use crate::database::DatabaseTarget;

#[derive(Debug, Args)]
pub struct BenchArgs {}

pub async fn run(_target: &DatabaseTarget, _args: BenchArgs, _out: &Out) -> Result<(), CliError> {
    Ok(())
}
