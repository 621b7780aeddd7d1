//! The built-in kinds: id, category, severity, merge priority, description.
//!
//! Priority decides which finding survives when spans overlap: a specific
//! format (a `ghp_` token) beats a structural one (a PEM block) beats a
//! generic one (`password = …`).

use crate::finding::{Category, Severity};

/// One built-in kind.
pub(crate) struct KindDef {
    pub id: &'static str,
    pub category: Category,
    pub severity: Severity,
    pub priority: u8,
    pub description: &'static str,
}

use Category::{Credential as C, PersonalData as P};
use Severity::{Critical, High, Low, Medium};

const fn k(
    id: &'static str,
    category: Category,
    severity: Severity,
    priority: u8,
    description: &'static str,
) -> KindDef {
    KindDef {
        id,
        category,
        severity,
        priority,
        description,
    }
}

/// Priority of custom patterns.
pub(crate) const CUSTOM_PRIORITY: u8 = 24;

/// Every built-in kind, credentials first.
pub(crate) const KINDS: &[KindDef] = &[
    k(
        "aws_access_key_id",
        C,
        Critical,
        30,
        "AWS access key id (AKIA/ASIA/ABIA/ACCA + 16 base32)",
    ),
    k(
        "aws_secret_access_key",
        C,
        Critical,
        28,
        "AWS secret access key (40 chars, in an aws/secret assignment)",
    ),
    k(
        "gcp_api_key",
        C,
        High,
        30,
        "Google Cloud API key (AIza + 35)",
    ),
    k(
        "gcp_service_account",
        C,
        Critical,
        29,
        "Google Cloud service account JSON private key",
    ),
    k(
        "azure_storage_key",
        C,
        Critical,
        30,
        "Azure storage account key (AccountKey= + 88 base64)",
    ),
    k(
        "azure_client_secret",
        C,
        Critical,
        28,
        "Azure AD client secret (xxxNQ~…, in a secret assignment)",
    ),
    k(
        "github_pat",
        C,
        Critical,
        30,
        "GitHub personal access token (ghp_, CRC32 checked)",
    ),
    k(
        "github_oauth",
        C,
        High,
        30,
        "GitHub OAuth access token (gho_)",
    ),
    k(
        "github_user_token",
        C,
        High,
        30,
        "GitHub user-to-server token (ghu_)",
    ),
    k(
        "github_server_token",
        C,
        High,
        30,
        "GitHub server-to-server token (ghs_)",
    ),
    k(
        "github_refresh_token",
        C,
        High,
        30,
        "GitHub refresh token (ghr_)",
    ),
    k(
        "github_fine_grained_pat",
        C,
        Critical,
        30,
        "GitHub fine-grained personal access token (github_pat_)",
    ),
    k(
        "gitlab_pat",
        C,
        Critical,
        30,
        "GitLab personal access token (glpat-)",
    ),
    k(
        "gitlab_runner_token",
        C,
        High,
        30,
        "GitLab runner authentication token (glrt-)",
    ),
    k(
        "gitlab_pipeline_trigger",
        C,
        High,
        30,
        "GitLab pipeline trigger token (glptt-)",
    ),
    k(
        "openai_api_key",
        C,
        Critical,
        30,
        "OpenAI API key (sk-…T3BlbkFJ…, incl. sk-proj-/sk-svcacct-)",
    ),
    k(
        "anthropic_api_key",
        C,
        Critical,
        30,
        "Anthropic API key (sk-ant-api03-…AA)",
    ),
    k(
        "anthropic_admin_key",
        C,
        Critical,
        30,
        "Anthropic admin key (sk-ant-admin01-…AA)",
    ),
    k(
        "huggingface_token",
        C,
        High,
        30,
        "Hugging Face access token (hf_ + 34 letters)",
    ),
    k("slack_bot_token", C, High, 30, "Slack bot token (xoxb-)"),
    k("slack_user_token", C, High, 30, "Slack user token (xoxp-)"),
    k(
        "slack_app_token",
        C,
        High,
        30,
        "Slack app-level token (xapp-)",
    ),
    k("slack_webhook", C, Medium, 30, "Slack incoming webhook URL"),
    k(
        "stripe_secret_key",
        C,
        Critical,
        30,
        "Stripe secret key (sk_live_/sk_test_)",
    ),
    k(
        "stripe_restricted_key",
        C,
        High,
        30,
        "Stripe restricted key (rk_live_/rk_test_)",
    ),
    k(
        "twilio_api_key",
        C,
        High,
        30,
        "Twilio API key SID (SK + 32 hex)",
    ),
    k(
        "twilio_account_sid",
        C,
        Medium,
        26,
        "Twilio account SID (AC + 32 hex)",
    ),
    k(
        "sendgrid_api_key",
        C,
        High,
        30,
        "SendGrid API key (SG.22.43)",
    ),
    k(
        "mailgun_api_key",
        C,
        High,
        30,
        "Mailgun API key (key- + 32)",
    ),
    k(
        "npm_token",
        C,
        High,
        30,
        "npm access token (npm_, CRC32 checked)",
    ),
    k(
        "pypi_token",
        C,
        High,
        30,
        "PyPI API token (pypi-AgEIcHlwaS5vcmc…)",
    ),
    k(
        "docker_hub_pat",
        C,
        High,
        30,
        "Docker Hub personal access token (dckr_pat_)",
    ),
    k(
        "digitalocean_token",
        C,
        Critical,
        30,
        "DigitalOcean personal access token (dop_v1_ + 64 hex)",
    ),
    k(
        "shopify_token",
        C,
        High,
        30,
        "Shopify access token (shpat_/shpss_ + 32 hex)",
    ),
    k(
        "atlassian_api_token",
        C,
        High,
        30,
        "Atlassian API token (ATATT3…)",
    ),
    k(
        "datadog_api_key",
        C,
        High,
        28,
        "Datadog API key (32 hex, in a datadog/dd api key assignment)",
    ),
    k(
        "new_relic_key",
        C,
        High,
        30,
        "New Relic user API key (NRAK-)",
    ),
    k(
        "discord_bot_token",
        C,
        High,
        27,
        "Discord bot token (near a mention of Discord)",
    ),
    k(
        "telegram_bot_token",
        C,
        High,
        30,
        "Telegram bot token (digits:AA…)",
    ),
    k(
        "private_key_pem",
        C,
        Critical,
        25,
        "PEM private key block (RSA, EC, DSA, PKCS#8, encrypted)",
    ),
    k(
        "openssh_private_key",
        C,
        Critical,
        26,
        "OpenSSH private key block",
    ),
    k("pgp_private_key", C, Critical, 26, "PGP private key block"),
    k("jwt", C, High, 22, "JSON Web Token (eyJ….eyJ….sig)"),
    k(
        "database_url_with_password",
        C,
        Critical,
        23,
        "Database URL with a password (postgres, mysql, mongodb, redis, amqp, …)",
    ),
    k(
        "basic_auth_url",
        C,
        High,
        21,
        "URL with user:password credentials",
    ),
    k(
        "generic_secret_assignment",
        C,
        High,
        10,
        "High-entropy value assigned to a password/secret/token/api key",
    ),
    k(
        "modelgate_api_key",
        C,
        Critical,
        31,
        "modelgate API key (mgk_, CRC32 checked)",
    ),
    k("email", P, Medium, 11, "Email address"),
    k(
        "phone_number",
        P,
        Medium,
        8,
        "Phone number (E.164, NANP, European national formats)",
    ),
    k(
        "payment_card",
        P,
        High,
        12,
        "Payment card number (Luhn valid, known IIN)",
    ),
    k(
        "iban",
        P,
        High,
        12,
        "International bank account number (mod-97 valid)",
    ),
    k(
        "us_ssn",
        P,
        High,
        11,
        "US social security number (valid ranges)",
    ),
    k(
        "ipv4_address",
        P,
        Low,
        8,
        "IPv4 address (not loopback or unspecified)",
    ),
    k("ipv6_address", P, Low, 5, "IPv6 address (low confidence)"),
];

/// The definition of a built-in kind.
pub(crate) fn def(id: &str) -> Option<&'static KindDef> {
    KINDS.iter().find(|d| d.id == id)
}

/// The definition of a built-in kind the code itself names (present by
/// construction; a unit test checks every name used).
pub(crate) fn known(id: &'static str) -> &'static KindDef {
    def(id).unwrap_or(&KINDS[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut ids: Vec<_> = KINDS.iter().map(|d| d.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), KINDS.len());
        assert!(ids.iter().all(|id| {
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
        let credentials = KINDS.iter().filter(|d| d.category == C).count();
        assert!(credentials >= 40, "{credentials}");
    }
}
