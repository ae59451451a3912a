//! `sclerad`: imaging-phenotype cohort studies in systemic sclerosis.
//!
//! Exit status: 0 success, 1 the bundle has problems, 2 usage or I/O error.

mod analyze;
mod cli;
mod images;
mod progress;
mod redcap;
mod report;
mod stats;
mod store;
mod synth;
mod validate;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Stats(command) => stats::run(command),
        Command::Analyze(args) => analyze::run(args),
        Command::Demo(args) => analyze::demo(args),
        Command::Serve(args) => store::serve(args),
        Command::Import(args) => store::import(args),
        Command::Export(args) => store::export(args),
        Command::User(command) => store::user(command),
        Command::Audit(command) => store::audit(command),
        Command::Images(command) => images::run(command),
        Command::Redcap(command) => redcap::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("sclerad: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Output piped into `head` and closed early is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(BrokenPipe)
    })
}
