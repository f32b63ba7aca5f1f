//! The `pairctl` binary: parse the command line, run it, turn an error into
//! one line on stderr and exit code 1.

use std::process::ExitCode;

use clap::Parser;
use pairctl::cli::Cli;

fn main() -> ExitCode {
    match pairctl::commands::run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("pairctl: {err:#}");
            ExitCode::FAILURE
        }
    }
}
