//! Thresholds the posture checks use, with documented defaults.

use serde::{Deserialize, Serialize};

/// Thresholds for [`crate::findings`]. Every field has a default, so a
/// partial TOML or JSON table is enough.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostureSettings {
    /// An identity unused this many days should be offboarded (NHI1).
    pub unused_days: u32,
    /// Longest lifetime an API key may have (NHI7).
    pub max_key_lifetime_days: u32,
    /// A live API key older than this is past its rotation date (NHI7).
    pub rotation_days: u32,
    /// A role or model unused this many days is excess privilege (NHI5).
    pub privilege_unused_days: u32,
    /// Requests carrying credentials before an identity counts as a
    /// repeated secret leaker (NHI2).
    pub repeated_secret_requests: u64,
    /// Data classes that must not reach a hosted upstream that retains
    /// prompts or isolates tenants only by contract (NHI3).
    pub confidential_data_classes: Vec<String>,
    /// Screening kinds that are the gateway's own keys (NHI2).
    pub gateway_key_kinds: Vec<String>,
    /// More distinct federation subjects than this is reuse (NHI9).
    pub max_federation_subjects: usize,
    /// More distinct client addresses than this is reuse (NHI9).
    pub max_client_addresses: usize,
    /// More distinct user agents than this is reuse (NHI9).
    pub max_user_agents: usize,
    /// Substrings of a User-Agent that mark an interactive client (NHI10).
    pub interactive_user_agents: Vec<String>,
    /// First UTC hour of the working day (NHI10).
    pub working_hours_start: u8,
    /// UTC hour the working day ends (exclusive) (NHI10).
    pub working_hours_end: u8,
    /// Share of requests inside working hours (0..=1) above which the
    /// pattern looks human (NHI10).
    pub working_hours_share: f64,
    /// Fewest requests before the working-hours pattern is judged (NHI10).
    pub working_hours_min_requests: u64,
}

impl Default for PostureSettings {
    fn default() -> Self {
        PostureSettings {
            unused_days: 90,
            max_key_lifetime_days: 90,
            rotation_days: 60,
            privilege_unused_days: 60,
            repeated_secret_requests: 3,
            confidential_data_classes: vec![
                "confidential".to_owned(),
                "restricted".to_owned(),
                "regulated".to_owned(),
            ],
            gateway_key_kinds: vec!["modelgate_api_key".to_owned(), "modelgate_key".to_owned()],
            max_federation_subjects: 3,
            max_client_addresses: 10,
            max_user_agents: 3,
            interactive_user_agents: vec![
                "Mozilla/".to_owned(),
                "PostmanRuntime/".to_owned(),
                "insomnia/".to_owned(),
                "HTTPie/".to_owned(),
            ],
            working_hours_start: 8,
            working_hours_end: 18,
            working_hours_share: 0.95,
            working_hours_min_requests: 50,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PostureSettings;

    #[test]
    fn partial_toml_keeps_defaults_and_unknown_keys_are_refused() {
        let s: PostureSettings = toml::from_str("unused_days = 30").unwrap();
        assert_eq!(s.unused_days, 30);
        assert_eq!(
            s.max_key_lifetime_days,
            PostureSettings::default().max_key_lifetime_days
        );
        assert!(toml::from_str::<PostureSettings>("unused = 30").is_err());
    }
}
