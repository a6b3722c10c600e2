//! The `goalkeeper` binary: parse the command line, dispatch, exit.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = goalkeeper::cli::Cli::parse();
    goalkeeper::commands::dispatch(cli)
}
