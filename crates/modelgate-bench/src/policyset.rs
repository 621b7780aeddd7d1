//! The policy set the full-path scenarios run with: 50 policies in all,
//! ten `[[roles]]` (one permit each once compiled) and forty Cedar policies
//! in six files, shaped like a real deployment's (residency, screening
//! findings, workload kinds, single identities, role conditions, rules for
//! everyone). The texts live in `crates/modelgate-bench/policies/` and are
//! written into the run's temporary directory.
//!
//! The bench identity holds [`BENCH_ROLE`]; its request (chat on the bench
//! model, `max_tokens` 128, data class `internal`, self-hosted upstream in
//! region `local`) is allowed, after the gateway has had to evaluate the
//! policies that can apply to it.

use std::path::Path;

use anyhow::{Context, Result};

/// The role the bench identity is assigned.
pub const BENCH_ROLE: &str = "bench-chat";

/// The `[[roles]]` tables, as a gateway configuration fragment.
pub const ROLES_TOML: &str = include_str!("../policies/roles.toml");

/// The Cedar files: (file name, text).
pub const CEDAR_FILES: &[(&str, &str)] = &[
    ("data.cedar", include_str!("../policies/data.cedar")),
    (
        "screening.cedar",
        include_str!("../policies/screening.cedar"),
    ),
    (
        "workloads.cedar",
        include_str!("../policies/workloads.cedar"),
    ),
    (
        "identities.cedar",
        include_str!("../policies/identities.cedar"),
    ),
    ("roles.cedar", include_str!("../policies/roles.cedar")),
    ("general.cedar", include_str!("../policies/general.cedar")),
];

/// Roles in [`ROLES_TOML`].
pub fn role_count() -> usize {
    ROLES_TOML
        .lines()
        .filter(|l| l.trim() == "[[roles]]")
        .count()
}

/// Policies in [`CEDAR_FILES`] (each carries an `@id`).
pub fn cedar_policy_count() -> usize {
    CEDAR_FILES
        .iter()
        .map(|(_, text)| text.matches("@id(").count())
        .sum()
}

/// Writes every Cedar file into `dir` (created if missing).
pub fn write_policy_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in CEDAR_FILES {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelgate_policy::{CompiledPolicies, PolicyFile, run_test_text};

    fn compiled() -> CompiledPolicies {
        let files = CEDAR_FILES
            .iter()
            .map(|(name, text)| PolicyFile::new(*name, *text))
            .collect();
        CompiledPolicies::compile(&[], files).unwrap()
    }

    /// Runs policy test cases with the bench roles; returns the failures.
    fn failures(cases: &str) -> Vec<String> {
        let text = format!(
            "{}\n[upstreams.mock]\ndeployment = \"self_hosted\"\nregion = \"local\"\n\n\
             [upstreams.hosted]\ndeployment = \"hosted\"\nregion = \"us-east\"\n\n\
             [defaults]\nidentity = \"bench\"\nkind = \"service\"\nenvironment = \"prod\"\n\
             owner = \"bench@localhost\"\nroles = [\"{BENCH_ROLE}\"]\nmodel = \"bench-chat\"\n\
             action = \"chat\"\nmax_tokens = 128\ndata_class = \"internal\"\nupstream = \"mock\"\n\n{cases}",
            ROLES_TOML.replace("[[roles]]", "[[role]]")
        );
        run_test_text(&compiled(), Path::new("bench.test.toml"), &text)
            .unwrap()
            .into_iter()
            .filter_map(|c| c.failure.map(|f| format!("{}: {f}", c.name)))
            .collect()
    }

    #[test]
    fn fifty_policies_that_validate() {
        assert_eq!(role_count(), 10);
        assert_eq!(cedar_policy_count(), 40);
        assert_eq!(role_count() + cedar_policy_count(), 50);
        // Every file parses and validates against the gateway's schema.
        let set = compiled();
        assert!(set.len() >= 40, "{}", set.len());
    }

    #[test]
    fn the_bench_request_is_allowed_and_the_policies_bite() {
        let cases = r#"
[[case]]
name = "the bench request"
expect = "allow"
policy = "role:bench-chat"

[[case]]
name = "streamed or not, completions too"
action = "completions"
expect = "allow"

[[case]]
name = "without the role"
roles = []
expect = "deny"

[[case]]
name = "max_tokens above the bench ceiling"
max_tokens = 3000
expect = "deny"
policy = "bench-token-ceiling"

[[case]]
name = "a hosted upstream"
upstream = "hosted"
expect = "deny"
policy = "prod-data-self-hosted"

[[case]]
name = "restricted data"
data_class = "restricted"
expect = "deny"

[[case]]
name = "a cloud key in the prompt"
findings = { aws_access_key_id = 1 }
expect = "deny"
policy = "no-cloud-keys-anywhere"

[[case]]
name = "an agent asking for too many tokens"
kind = "agent"
roles = ["agent-runtime"]
model = "claude-3"
max_tokens = 5000
expect = "deny"
policy = "agent-token-cap"

[[case]]
name = "a blocked identity"
identity = "scraper-7"
expect = "deny"
policy = "scraper-blocked"
"#;
        assert_eq!(failures(cases), Vec::<String>::new());
    }

    #[test]
    fn writes_every_file() {
        let dir = tempfile::tempdir().unwrap();
        write_policy_dir(&dir.path().join("p")).unwrap();
        for (name, text) in CEDAR_FILES {
            let written = std::fs::read_to_string(dir.path().join("p").join(name)).unwrap();
            assert_eq!(&written, text);
        }
    }
}
