//! `modelgate-mock` binary: runs the mock model upstream until SIGTERM or
//! ctrl-c, for out-of-process tests and manual experiments.
//!
//! ```text
//! modelgate-mock [--listen ADDR] [--latency-ms N] [--chunks N] [--chunk-delay-ms N] [--no-record]
//! ```
//!
//! After binding it prints exactly one line, `listening on http://HOST:PORT`,
//! to stdout. Bad arguments print a message to stderr and exit with code 2.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use modelgate_mock::{Behavior, MockUpstream};

const USAGE: &str = "usage: modelgate-mock [--listen ADDR] [--latency-ms N] [--chunks N] \
[--chunk-delay-ms N] [--no-record]";

/// Parsed command line.
#[derive(Debug)]
struct Args {
    listen: SocketAddr,
    behavior: Behavior,
    record: bool,
}

/// What the command line asks for.
#[derive(Debug)]
enum Command {
    Run(Args),
    Help,
}

fn parse_num<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| {
        format!("invalid value for {flag}: {value:?} (expected a non-negative integer)")
    })
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut out = Args {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        behavior: Behavior::default(),
        record: true,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg, None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--no-record" => {
                out.record = false;
                continue;
            }
            "--listen" | "--latency-ms" | "--chunks" | "--chunk-delay-ms" => {}
            _ => return Err(format!("unknown argument: {flag}")),
        }
        let value = match inline.or_else(|| args.next()) {
            Some(v) => v,
            None => return Err(format!("missing value for {flag}")),
        };
        match flag.as_str() {
            "--listen" => {
                out.listen = value
                    .parse()
                    .map_err(|_| format!("invalid address for --listen: {value:?}"))?;
            }
            "--latency-ms" => out.behavior.latency_ms = parse_num(&flag, &value)?,
            "--chunks" => out.behavior.chunks = Some(parse_num(&flag, &value)?),
            _ => out.behavior.chunk_delay_ms = parse_num(&flag, &value)?,
        }
    }
    Ok(Command::Run(out))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn run(args: Args) -> ExitCode {
    let mock = match MockUpstream::builder()
        .addr(args.listen)
        .behavior(args.behavior)
        .record_requests(args.record)
        .start()
        .await
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("modelgate-mock: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "listening on {}", mock.base_url());
        let _ = stdout.flush();
    }
    wait_for_signal().await;
    mock.shutdown().await;
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("modelgate-mock: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("modelgate-mock: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_flags() {
        let Command::Run(a) = parse(&[
            "--listen",
            "127.0.0.1:9000",
            "--latency-ms=5",
            "--chunks",
            "100",
            "--chunk-delay-ms",
            "2",
        ])
        .unwrap() else {
            panic!("expected run");
        };
        assert_eq!(a.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(a.behavior.latency_ms, 5);
        assert_eq!(a.behavior.chunks, Some(100));
        assert_eq!(a.behavior.chunk_delay_ms, 2);
        assert!(a.record);
    }

    #[test]
    fn rejects_bad_args() {
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--chunks"]).is_err());
        assert!(parse(&["--chunks", "-1"]).is_err());
        assert!(parse(&["--listen", "nope"]).is_err());
        assert!(matches!(parse(&["--help"]), Ok(Command::Help)));
    }
}
