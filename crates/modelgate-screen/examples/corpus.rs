//! Writes the labelled corpus and our evaluation of it.
//!
//! `cargo run --release -p modelgate-screen --example corpus -- OUT_DIR`
//! writes `OUT_DIR/corpus.jsonl` (one sample per line: id, source, text,
//! labels with byte offsets), `OUT_DIR/report.md` (per-kind recall and
//! precision, hard negatives) and `OUT_DIR/report.json`, and prints the
//! Markdown report.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use modelgate_screen::Screener;
use modelgate_screen::corpus::{self, DEFAULT_SEED};

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: corpus OUT_DIR");
        return ExitCode::from(2);
    };
    match run(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corpus: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let corpus = corpus::generate(DEFAULT_SEED);
    let mut lines = std::io::BufWriter::new(std::fs::File::create(out.join("corpus.jsonl"))?);
    for sample in &corpus.samples {
        serde_json::to_writer(&mut lines, sample)?;
        lines.write_all(b"\n")?;
    }
    lines.flush()?;
    let screener = Screener::builtin();
    let started = std::time::Instant::now();
    let report = corpus::evaluate(&screener, &corpus);
    let elapsed = started.elapsed();
    let bytes: usize = corpus.samples.iter().map(|s| s.text.len()).sum();
    let markdown = format!(
        "Corpus: seed {:#x}, {} samples ({} bytes), evaluated in {:.1} ms.\n\n{}",
        corpus.seed,
        report.samples,
        bytes,
        elapsed.as_secs_f64() * 1e3,
        report.to_markdown()
    );
    std::fs::write(out.join("report.md"), &markdown)?;
    std::fs::write(out.join("report.json"), serde_json::to_vec_pretty(&report)?)?;
    println!("{markdown}");
    Ok(())
}
