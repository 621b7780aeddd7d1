//! Claim rules: which registered identity a verified token maps to.
//!
//! A rule is a set of conditions `claim path -> pattern`; all must hold.
//! A plain path names a top-level claim (`sub`, `repository`, even
//! `https://example.com/groups`); a path starting with `/` is a JSON Pointer
//! (RFC 6901) into nested claims (`/kubernetes.io/namespace`). A claim
//! matches when it is a string (or a number or boolean, compared as its JSON
//! text) and the pattern matches it: exactly, or as a glob where `*` stands
//! for any run of characters (no other metacharacters).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{FederationConfigError, FederationError};
use super::preset::Preset;
use crate::identity::is_valid_name;

/// Longest claim path or pattern, in bytes.
const MAX_RULE_TEXT: usize = 1024;

/// One claim rule of an issuer (`[[issuers.rules]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRule {
    /// The registered identity name a matching token maps to.
    pub identity: String,
    /// Claim path -> pattern; every condition must match. Must constrain
    /// `sub` with something other than only `*`.
    pub claims: BTreeMap<String, String>,
}

/// Where a claim is: one token per level (a plain name is one token).
#[derive(Clone, Debug, PartialEq, Eq)]
struct ClaimPath(Vec<String>);

impl ClaimPath {
    fn parse(text: &str) -> Result<ClaimPath, &'static str> {
        if text.is_empty() {
            return Err("a claim path is empty");
        }
        if text.len() > MAX_RULE_TEXT || text.chars().any(char::is_control) {
            return Err("a claim path is too long or has control characters");
        }
        let Some(pointer) = text.strip_prefix('/') else {
            return Ok(ClaimPath(vec![text.to_owned()]));
        };
        let mut tokens = Vec::new();
        for raw in pointer.split('/') {
            let mut token = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    token.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => token.push('~'),
                    Some('1') => token.push('/'),
                    _ => return Err("a JSON Pointer has '~' not followed by 0 or 1"),
                }
            }
            tokens.push(token);
        }
        Ok(ClaimPath(tokens))
    }

    fn is_subject(&self) -> bool {
        self.0.len() == 1 && self.0[0] == "sub"
    }

    fn resolve<'c>(&self, claims: &'c Map<String, Value>) -> Option<&'c Value> {
        let (first, rest) = self.0.split_first()?;
        let mut value = claims.get(first)?;
        for token in rest {
            value = match value {
                Value::Object(map) => map.get(token)?,
                Value::Array(items) => items.get(array_index(token)?)?,
                _ => return None,
            };
        }
        Some(value)
    }
}

/// RFC 6901 array index: `0` or digits without a leading zero.
fn array_index(token: &str) -> Option<usize> {
    let digits_only = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

/// A pattern: literal pieces separated by `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    text: String,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, &'static str> {
        if text.is_empty() {
            return Err("a pattern is empty");
        }
        if text.len() > MAX_RULE_TEXT || text.chars().any(char::is_control) {
            return Err("a pattern is too long or has control characters");
        }
        Ok(Pattern {
            text: text.to_owned(),
        })
    }

    /// Only wildcards: matches anything.
    fn is_unconstrained(&self) -> bool {
        self.text.bytes().all(|b| b == b'*')
    }

    /// The literal text before the first `*` (all of it without one).
    fn literal_prefix(&self) -> &str {
        self.text.split('*').next().unwrap_or("")
    }

    /// Glob match in O(len(value) * pieces) without recursion: the first
    /// piece anchors at the start, the last at the end, middle pieces are
    /// found leftmost in order (which is optimal for `*`-only globs).
    fn matches(&self, value: &str) -> bool {
        let pieces: Vec<&str> = self.text.split('*').collect();
        let [first, middle @ .., last] = pieces.as_slice() else {
            return self.text == value; // one piece: no '*'
        };
        let Some(mut rest) = value.strip_prefix(first) else {
            return false;
        };
        for piece in middle {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        rest.ends_with(last)
    }
}

/// A validated rule.
#[derive(Clone, Debug)]
pub(crate) struct CompiledRule {
    identity: String,
    conditions: Vec<(ClaimPath, Pattern)>,
}

/// Validates the rules of issuer `issuer` (for error messages).
pub(crate) fn compile(
    issuer: &str,
    preset: Preset,
    rules: &[ClaimRule],
) -> Result<Vec<CompiledRule>, FederationConfigError> {
    if rules.is_empty() {
        return Err(FederationConfigError::invalid(
            issuer,
            "rules",
            "at least one claim rule is required",
        ));
    }
    let mut compiled = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let err = |field: &str, reason: &str| {
            FederationConfigError::invalid(issuer, format!("rules[{i}].{field}"), reason)
        };
        if !is_valid_name(&rule.identity) {
            return Err(err(
                "identity",
                "not a valid identity name (1 to 63 characters from a-z, 0-9, '.', '_', '-', \
                 starting with a letter or digit)",
            ));
        }
        let mut conditions = Vec::with_capacity(rule.claims.len());
        for (path, pattern) in &rule.claims {
            let path = ClaimPath::parse(path).map_err(|why| err("claims", why))?;
            let pattern = Pattern::parse(pattern).map_err(|why| err("claims", why))?;
            conditions.push((path, pattern));
        }
        let subjects: Vec<&Pattern> = conditions
            .iter()
            .filter(|(path, _)| path.is_subject())
            .map(|(_, pattern)| pattern)
            .collect();
        if subjects.is_empty() || subjects.iter().all(|p| p.is_unconstrained()) {
            return Err(err(
                "claims",
                "a rule must constrain the subject: add a `sub` pattern that is not only `*`",
            ));
        }
        if preset == Preset::GithubActions && !pins_github_owner(&conditions) {
            return Err(err(
                "claims",
                "a GitHub Actions rule must pin the repository owner: start `sub` with \
                 `repo:OWNER/` (no `*` before the `/`), or add an exact `repository_owner` \
                 or `repository_owner_id` condition",
            ));
        }
        compiled.push(CompiledRule {
            identity: rule.identity.clone(),
            conditions,
        });
    }
    Ok(compiled)
}

/// GitHub's issuer is shared by every repository on GitHub: a rule that
/// does not name the owner would accept workflows of strangers.
fn pins_github_owner(conditions: &[(ClaimPath, Pattern)]) -> bool {
    conditions.iter().any(|(path, pattern)| {
        let top = match path.0.as_slice() {
            [one] => one.as_str(),
            _ => return false,
        };
        match top {
            "sub" => pattern
                .literal_prefix()
                .strip_prefix("repo:")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(owner, _)| !owner.is_empty()),
            "repository_owner" | "repository_owner_id" => !pattern.text.contains('*'),
            _ => false,
        }
    })
}

impl CompiledRule {
    /// The literal text before the first `*` of each `sub` condition.
    pub(crate) fn subject_prefixes(&self) -> impl Iterator<Item = &str> {
        self.conditions
            .iter()
            .filter(|(path, _)| path.is_subject())
            .map(|(_, pattern)| pattern.literal_prefix())
    }

    /// The identity a matching token maps to.
    pub(crate) fn identity(&self) -> &str {
        &self.identity
    }

    pub(crate) fn matches(&self, claims: &Map<String, Value>) -> bool {
        self.conditions
            .iter()
            .all(|(path, pattern)| match path.resolve(claims) {
                Some(Value::String(s)) => pattern.matches(s),
                Some(Value::Number(n)) => pattern.matches(&n.to_string()),
                Some(Value::Bool(b)) => pattern.matches(if *b { "true" } else { "false" }),
                _ => false,
            })
    }
}

/// Why no rule matched: the rule that came closest (most conditions held;
/// the first such) and its first condition that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The condition's claim path, as configured.
    pub claim: String,
    /// In full, for the log and the audit record (never for the caller):
    /// the rule's identity, the claim's value in the token and the pattern.
    pub detail: String,
}

impl ClaimPath {
    /// The path as configured: a plain name, or a JSON Pointer.
    fn text(&self) -> String {
        match self.0.as_slice() {
            [one] if !one.starts_with('/') => one.clone(),
            tokens => tokens
                .iter()
                .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
                .collect(),
        }
    }
}

impl CompiledRule {
    /// The conditions that hold, and the first that does not.
    fn first_miss(&self, claims: &Map<String, Value>) -> (usize, Option<&(ClaimPath, Pattern)>) {
        let held = |(path, pattern): &&(ClaimPath, Pattern)| match path.resolve(claims) {
            Some(Value::String(s)) => pattern.matches(s),
            Some(Value::Number(n)) => pattern.matches(&n.to_string()),
            Some(Value::Bool(b)) => pattern.matches(if *b { "true" } else { "false" }),
            _ => false,
        };
        let count = self.conditions.iter().filter(held).count();
        (count, self.conditions.iter().find(|c| !held(c)))
    }
}

/// Why none of `rules` matches `claims` (see [`Mismatch`]).
pub(crate) fn explain(rules: &[CompiledRule], claims: &Map<String, Value>) -> Mismatch {
    let mut best: Option<(usize, &CompiledRule, &(ClaimPath, Pattern))> = None;
    for rule in rules {
        if let (held, Some(miss)) = rule.first_miss(claims)
            && best.is_none_or(|(most, _, _)| held > most)
        {
            best = Some((held, rule, miss));
        }
    }
    let Some((_, rule, (path, pattern))) = best else {
        return Mismatch {
            claim: "sub".to_owned(),
            detail: "no rule applies".to_owned(),
        };
    };
    let found = match path.resolve(claims) {
        Some(value) => format!("is {value}"),
        None => "is absent".to_owned(),
    };
    let claim = path.text();
    Mismatch {
        detail: format!(
            "rule for identity {}: claim {claim} {found}, the rule wants {:?}",
            rule.identity, pattern.text
        ),
        claim,
    }
}

/// The identity the claims map to: exactly one identity among the matching
/// rules (several rules may match if they name the same identity).
pub(crate) fn resolve(
    issuer: &str,
    rules: &[CompiledRule],
    claims: &Map<String, Value>,
) -> Result<String, FederationError> {
    let mut found: Option<&str> = None;
    for rule in rules.iter().filter(|r| r.matches(claims)) {
        match found {
            None => found = Some(&rule.identity),
            Some(identity) if identity == rule.identity => {}
            Some(_) => {
                return Err(FederationError::AmbiguousRule {
                    issuer: issuer.to_owned(),
                });
            }
        }
    }
    found
        .map(str::to_owned)
        .ok_or_else(|| FederationError::NoMatchingRule {
            issuer: issuer.to_owned(),
            claim: explain(rules, claims).claim,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str, v: &str) -> bool {
        Pattern::parse(p).unwrap().matches(v)
    }

    #[test]
    fn glob_semantics() {
        assert!(glob("abc", "abc"));
        assert!(!glob("abc", "abcd"));
        assert!(glob("a*", "a"));
        assert!(glob("a*c", "abbbc"));
        assert!(!glob("a*c", "abbbcd"));
        assert!(glob("*b*", "abc"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXc"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("ab*ba", "abba"));
        assert!(glob(
            "repo:acme/*:environment:prod",
            "repo:acme/billing:environment:prod"
        ));
        assert!(!glob(
            "repo:acme/*:environment:prod",
            "repo:acme/billing:environment:dev"
        ));
        // '?', '[' and '.' are literal.
        assert!(glob("a?[.]", "a?[.]"));
        assert!(!glob("a?", "ab"));
    }

    #[test]
    fn a_miss_names_the_closest_rules_failing_claim() {
        let rules = compile(
            "github",
            Preset::Oidc,
            &[
                ClaimRule {
                    identity: "a".into(),
                    claims: [("sub".into(), "x".into())].into(),
                },
                ClaimRule {
                    identity: "b".into(),
                    claims: [
                        ("sub".into(), "repo:acme/*".into()),
                        ("/k8s/ns".into(), "pay".into()),
                    ]
                    .into(),
                },
            ],
        )
        .unwrap();
        let claims = serde_json::json!({"sub": "repo:acme/billing", "k8s": {"ns": "dev"}});
        let miss = explain(&rules, claims.as_object().unwrap());
        assert_eq!(miss.claim, "/k8s/ns");
        assert_eq!(
            miss.detail,
            "rule for identity b: claim /k8s/ns is \"dev\", the rule wants \"pay\""
        );
        let err = resolve("github", &rules, claims.as_object().unwrap()).unwrap_err();
        assert_eq!(err.claim(), Some("/k8s/ns"));
        let absent = serde_json::json!({"sub": "y"});
        let miss = explain(&rules, absent.as_object().unwrap());
        assert_eq!(
            (miss.claim.as_str(), miss.detail.contains("is \"y\"")),
            ("sub", true)
        );
    }

    #[test]
    fn json_pointer_paths() {
        let p = ClaimPath::parse("/kubernetes.io/serviceaccount/name").unwrap();
        assert_eq!(p.0, ["kubernetes.io", "serviceaccount", "name"]);
        assert_eq!(ClaimPath::parse("/a~1b/c~0d").unwrap().0, ["a/b", "c~d"]);
        assert!(ClaimPath::parse("/a~2").is_err());
        assert!(ClaimPath::parse("/a~").is_err());
        assert_eq!(
            ClaimPath::parse("https://x/groups").unwrap().0,
            ["https://x/groups"]
        );
        let claims = serde_json::json!({"a": {"b": [10, {"c": "x"}]}});
        let claims = claims.as_object().unwrap();
        let path = ClaimPath::parse("/a/b/1/c").unwrap();
        assert_eq!(path.resolve(claims), Some(&Value::from("x")));
        assert_eq!(ClaimPath::parse("/a/b/01").unwrap().resolve(claims), None);
        assert_eq!(ClaimPath::parse("/a/b/-").unwrap().resolve(claims), None);
    }
}
