//! `modelgate assess [FILE]`: hosted, self-hosted, hybrid or refused for a
//! workload, from a requirements file or, in a terminal, from the answers
//! to the same questions.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use modelgate_posture::Requirements;

use crate::output::Format;

/// Asks the assessment questions, reading one answer per line of `input`
/// and writing the prompts to `prompts`.
fn ask(input: impl BufRead, mut prompts: impl Write) -> Result<Requirements> {
    let mut lines = input.lines();
    let mut answers = BTreeMap::new();
    for q in modelgate_posture::assess::QUESTIONS {
        if q.choices.is_empty() {
            write!(prompts, "{}: ", q.prompt)?;
        } else {
            write!(prompts, "{} [{}]: ", q.prompt, q.choices.join("/"))?;
        }
        prompts.flush()?;
        let Some(line) = lines.next() else {
            bail!("input ended before every question was answered");
        };
        answers.insert(q.key.to_owned(), line?);
    }
    Ok(Requirements::from_answers(&answers)?)
}

/// `modelgate assess [FILE]`.
pub fn assess_command(file: Option<PathBuf>, format: Format) -> Result<()> {
    let requirements = match file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Requirements::from_toml(&text).with_context(|| path.display().to_string())?
        }
        None if std::io::stdin().is_terminal() => ask(std::io::stdin().lock(), std::io::stderr())?,
        None => bail!(
            "give a requirements file (see examples/requirements.toml), or run in a terminal to answer the questions"
        ),
    };
    let assessment = modelgate_posture::assess(&requirements);
    if let Format::Json = format {
        println!("{}", serde_json::to_string_pretty(&assessment)?);
        return Ok(());
    }
    println!(
        "recommendation: {}",
        assessment.recommendation.as_str().replace('_', "-")
    );
    for (title, list) in [
        ("reasons", &assessment.reasons),
        ("residual risks", &assessment.residual_risks),
        ("maturity gaps", &assessment.maturity_gaps),
    ] {
        if !list.is_empty() {
            println!("\n{title}:");
            for line in list {
                println!("  - {line}");
            }
        }
    }
    if let Some(snippet) = &assessment.config {
        println!("\nconfiguration:\n\n{snippet}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ask;

    #[test]
    fn the_questionnaire_builds_requirements() {
        let answers = "claims\nprod\ninternal, regulated\neu-central\nfull\nyes\ninteractive\n\
                       high\nno\n14\ndaily\nautomated\nyes\n3\n";
        let mut prompts = Vec::new();
        let requirements = ask(answers.as_bytes(), &mut prompts).unwrap();
        let prompts = String::from_utf8(prompts).unwrap();
        assert!(prompts.starts_with("Workload name: "), "{prompts}");
        assert!(prompts.contains("Auditability [basic/full]: "), "{prompts}");
        let assessment = modelgate_posture::assess(&requirements);
        assert_eq!(assessment.recommendation.as_str(), "hybrid");
    }

    #[test]
    fn short_or_bad_answers_are_refused() {
        assert!(ask("claims\nprod\n".as_bytes(), Vec::new()).is_err());
        let bad = "claims\nprod\ninternal\n\nbasic\nmaybe\nbatch\nstandard\nno\n7\nweekly\nmanual\nno\n1\n";
        let err = ask(bad.as_bytes(), Vec::new()).unwrap_err().to_string();
        assert!(err.contains("custom_policy_filters"), "{err}");
    }
}
