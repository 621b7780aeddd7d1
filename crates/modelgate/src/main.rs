//! `modelgate`: the binary. A thin layer over the crates: command-line
//! parsing, configuration loading, logging and wiring. No request logic
//! lives here.

mod assess;
mod audit;
mod audit_chains;
mod cli;
mod cli_audit;
mod commands;
mod config_check;
mod credentials;
mod dev;
mod grants;
mod kek;
mod manage;
mod migrate;
mod notes;
mod output;
mod policy;
mod posture;
mod rlimit;
mod serve;
mod setup;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = async {
        let _file_limit = rlimit::ignore_file_size_signal();
        commands::run(cli).await
    };
    match runtime.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!("error: {text}");
            if let Some(hint) = rlimit::file_size_hint(&text) {
                eprintln!("{hint}");
            }
            ExitCode::FAILURE
        }
    }
}
