//! What the posture tests (`posture.rs`, `posture_reviews.rs`) share: an
//! upstream's ownership block and a model routed to two upstreams.

/// An upstream `environment` and a complete `ownership` block.
pub const FULL_OWNERSHIP: &str = "environment = \"prod\"\nownership = { patching = \"ops@example.com\", incident_response = \"secops@example.com\", offboarding = \"ops@example.com\", rotation_days = 30 }";

/// A `[[models]]` entry `m` with targets on `u-openai` and `u-anthropic`.
pub fn model_route() -> &'static str {
    "\n[[models]]\nname = \"m\"\ntargets = [\n  { upstream = \"u-openai\", model = \"demo-chat\" },\n  \
     { upstream = \"u-anthropic\", model = \"demo-chat\" },\n]\n"
}
