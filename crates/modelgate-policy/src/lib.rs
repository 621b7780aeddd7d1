//! Cedar policy for modelgate: the `decide` stage of the request path.
//!
//! This crate owns the gateway's Cedar [`SCHEMA`], the compilation of roles
//! ([`RoleDef`]) into Cedar permits, the baseline forbids, the loading and
//! validation of user policy files (every problem named by file, line and
//! column), decisions with a caller-safe reason ([`Decision`]), the live
//! [`PolicyEngine`] (atomic reload keeping the last good set, shadow
//! evaluation of a candidate set), policy test files ([`run_tests`]) and
//! [`replay`] of recorded requests against a candidate set.
//!
//! What this crate must not touch: HTTP, the store, the identity crate. It
//! defines its own input, [`RequestFacts`], which the gateway fills once per
//! candidate upstream, and which the audit log can store (it is serde) so
//! that replay can rebuild decisions.
//!
//! Speed: policies are parsed and validated once. Cedar evaluates every
//! policy it is given and rebuilds each condition per evaluation, so each
//! decision hands it only the policies that can apply: those whose action
//! scope names the request's action, whose role or identity scope the
//! principal meets, and whose guards (leading comparisons of request facts
//! with literals, see `guard`) are not false; and a context holding only
//! the attributes those policies read. Each selection is built once and
//! cached, as are the entities and entity uids per (principal, roles, model,
//! upstream) and, under each, the decisions of the last few sets of other
//! facts seen (see `request_cache`: a decision is a function of the set and
//! every fact, and time is in seconds, so recurring facts are evaluated at
//! most once a second). The cost of a first decision therefore follows the
//! policies that can apply, not the size of the set;
//! [`CompiledPolicies::decide_unsliced`] is the reference it is tested
//! against.
//!
//! Fail closed: a request whose facts Cedar cannot take, or for which a
//! forbid fails to evaluate, is denied.

mod compiled;
mod decision;
mod engine;
mod error;
mod facts;
mod guard;
mod needs;
mod replay;
mod request;
mod request_cache;
mod role;
mod slice;
mod source;
mod testfile;
mod testrun;

pub use compiled::{BASELINE_POLICIES, CompiledPolicies, SCHEMA, builtin_text};
pub use decision::{Decision, EVALUATION_ERROR_REASON, GENERIC_FORBID_REASON, ShadowDiff};
pub use engine::{PolicyEngine, ReloadSummary};
pub use error::{LoadError, PolicyProblem};
pub use facts::{
    ActiveRole, DataClass, Deployment, FindingSummary, IdentityKind, IdentityStatus, Isolation,
    Operation, PrincipalFacts, RequestFacts, RoleSource, TimeFacts, UpstreamFacts,
};
pub use replay::{DecisionChange, RecordedDecision, replay};
pub use role::{
    MAX_PATTERN_CHARS, MAX_ROLE_NAME_CHARS, RoleDef, RoleError, glob_matches, validate_roles,
};
pub use source::{PolicyFile, RESERVED_ID_PREFIXES, read_policy_dir};
pub use testfile::{
    CaseFacts, DEFAULT_TEST_TIME, Expectation, GrantSpec, PII_KINDS, TestCase, TestFile,
    UpstreamRef, UpstreamSpec,
};
pub use testrun::{CaseResult, TestFileError, TestReport, run_test_text, run_tests};
