//! Name lists with `*` patterns in the configuration (models, identities).
//! Matching is the policy crate's [`glob_matches`], so a role's model
//! patterns mean the same in Cedar, in rate limits and in screening rules.

pub use modelgate_policy::glob_matches;

/// Whether `text` matches any pattern; an empty list matches everything.
pub fn any_match(patterns: &[String], text: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| glob_matches(p, text))
}

#[cfg(test)]
mod tests {
    use super::any_match;

    #[test]
    fn an_empty_list_matches_everything_else_any_pattern() {
        let list = |ps: &[&str]| ps.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
        assert!(any_match(&[], "anything"));
        assert!(any_match(&list(&["gpt-*", "claude-*"]), "claude-sonnet"));
        assert!(any_match(&list(&["*-prod"]), "billing-prod"));
        assert!(!any_match(&list(&["gpt-*"]), "llama"));
        assert!(!any_match(&list(&["a*b*c"]), "acb"));
    }
}
