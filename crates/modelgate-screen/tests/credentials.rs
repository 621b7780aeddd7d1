//! Credential detectors, family by family: one realistic positive per kind,
//! the validators (checksums, entropy), and near-miss negatives.

mod common;

use common::{Lcg, crc_token, expect_one, found, mgk};
use modelgate_screen::{Confidence, ScreenConfig, Screener};

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const URLSAFE: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";

/// Deterministic random text of exact length, ending alphanumeric.
fn r(alphabet: &[u8], len: usize, seed: u64) -> String {
    let mut g = Lcg(seed);
    let mut s: String = (0..len)
        .map(|_| char::from(alphabet[g.below(alphabet.len())]))
        .collect();
    if len > 0 && !s.as_bytes()[len - 1].is_ascii_alphanumeric() {
        s.pop();
        s.push('Z');
    }
    s
}

#[test]
fn cloud_keys() {
    let s = Screener::builtin();
    let id = format!("AKIA{}", r(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 1));
    expect_one(
        &s,
        &format!("export AWS_ACCESS_KEY_ID={id}\n"),
        "aws_access_key_id",
        &id,
    );
    let secret = "Zk3+9qLmWv2Xr8TbYp4NcHs7Jd1Fg6Ua0Ke5Qo/R";
    assert_eq!(secret.len(), 40);
    expect_one(
        &s,
        &format!("aws_secret_access_key = {secret}\n"),
        "aws_secret_access_key",
        secret,
    );
    expect_one(
        &s,
        &format!("{{\"SecretAccessKey\": \"{secret}\"}}"),
        "aws_secret_access_key",
        secret,
    );
    let gcp = format!("AIza{}", r(URLSAFE, 35, 2));
    expect_one(&s, &format!("maps_key: {gcp}"), "gcp_api_key", &gcp);
    let account_key = format!("{}==", r(ALNUM, 86, 3));
    let conn = format!(
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={account_key};EndpointSuffix=core.windows.net"
    );
    expect_one(&s, &conn, "azure_storage_key", &account_key);
    let azure = format!("Ab1{}Q~{}", 7, r(ALNUM, 34, 4));
    expect_one(
        &s,
        &format!("AZURE_CLIENT_SECRET={azure}"),
        "azure_client_secret",
        &azure,
    );
}

#[test]
fn documented_aws_examples_are_not_secrets() {
    let s = Screener::builtin();
    let text = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    assert!(s.scan(text).is_empty(), "{:?}", found(&s, text));
}

#[test]
fn gcp_service_account_reports_the_private_key() {
    let s = Screener::builtin();
    let body = r(ALNUM, 64, 5);
    let key =
        format!("-----BEGIN PRIVATE KEY-----\\n{body}\\n{body}\\n-----END PRIVATE KEY-----\\n");
    let json = format!(
        "{{\"type\": \"service_account\", \"project_id\": \"x\", \"private_key\": \"{key}\"}}"
    );
    expect_one(&s, &json, "gcp_service_account", &key);
}

#[test]
fn vcs_tokens_and_github_checksums() {
    let s = Screener::builtin();
    for (prefix, kind) in [
        ("ghp_", "github_pat"),
        ("gho_", "github_oauth"),
        ("ghu_", "github_user_token"),
        ("ghs_", "github_server_token"),
        ("ghr_", "github_refresh_token"),
    ] {
        let token = crc_token(prefix, &r(ALNUM, 30, 6));
        expect_one(&s, &format!("GITHUB_TOKEN={token}"), kind, &token);
        assert_eq!(
            s.scan(&token).iter().next().unwrap().confidence,
            Confidence::High
        );
        // A wrong checksum is still token-shaped, but only Medium.
        let mut bad = token.clone();
        bad.replace_range(10..11, if &token[10..11] == "a" { "b" } else { "a" });
        assert_eq!(
            s.scan(&bad).iter().next().unwrap().confidence,
            Confidence::Medium
        );
    }
    let fine = format!(
        "github_pat_11{}_{}",
        r(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 20, 7),
        r(ALNUM, 59, 8)
    );
    expect_one(
        &s,
        &format!("token: {fine}"),
        "github_fine_grained_pat",
        &fine,
    );
    let glpat = format!("glpat-{}", r(URLSAFE, 20, 9));
    expect_one(
        &s,
        &format!("GITLAB_TOKEN=\"{glpat}\""),
        "gitlab_pat",
        &glpat,
    );
    let glrt = format!("glrt-{}", r(URLSAFE, 20, 10));
    expect_one(&s, &format!("runner: {glrt}"), "gitlab_runner_token", &glrt);
    let glptt = format!("glptt-{}", r(HEX, 40, 11));
    expect_one(
        &s,
        &format!("curl -F token={glptt} https://gitlab.acme.io/api/v4/projects/7/trigger/pipeline"),
        "gitlab_pipeline_trigger",
        &glptt,
    );
}

#[test]
fn ai_provider_keys() {
    let s = Screener::builtin();
    for key in [
        format!("sk-{}T3BlbkFJ{}", r(ALNUM, 20, 12), r(ALNUM, 20, 13)),
        format!(
            "sk-proj-{}T3BlbkFJ{}",
            r(URLSAFE, 74, 14),
            r(URLSAFE, 74, 15)
        ),
        format!(
            "sk-svcacct-{}T3BlbkFJ{}",
            r(URLSAFE, 74, 16),
            r(URLSAFE, 74, 17)
        ),
    ] {
        expect_one(&s, &format!("OPENAI_API_KEY={key}"), "openai_api_key", &key);
    }
    let ant = format!("sk-ant-api03-{}AA", r(URLSAFE, 93, 18));
    expect_one(
        &s,
        &format!("client = Anthropic(api_key=\"{ant}\")"),
        "anthropic_api_key",
        &ant,
    );
    let admin = format!("sk-ant-admin01-{}AA", r(URLSAFE, 93, 19));
    expect_one(
        &s,
        &format!("x-api-key: {admin}"),
        "anthropic_admin_key",
        &admin,
    );
    let hf = "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh";
    expect_one(&s, &format!("HF_TOKEN={hf}"), "huggingface_token", hf);
    // Placeholders and truncations.
    for text in [
        "OPENAI_API_KEY=sk-...",
        "sk-ant-api03-...",
        "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ] {
        assert!(s.scan(text).is_empty(), "{text}: {:?}", found(&s, text));
    }
}

#[test]
fn saas_tokens() {
    let s = Screener::builtin();
    let cases = [
        (
            "slack_bot_token",
            format!(
                "xoxb-{}-{}-{}",
                r(DIGITS, 11, 20),
                r(DIGITS, 13, 21),
                r(ALNUM, 24, 22)
            ),
        ),
        (
            "slack_user_token",
            format!(
                "xoxp-{}-{}-{}-{}",
                r(DIGITS, 11, 23),
                r(DIGITS, 11, 24),
                r(DIGITS, 13, 25),
                r(HEX, 32, 26)
            ),
        ),
        (
            "slack_app_token",
            format!(
                "xapp-1-A0{}-{}-{}",
                r(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 9, 27),
                r(DIGITS, 13, 28),
                r(HEX, 64, 29)
            ),
        ),
        ("stripe_secret_key", format!("sk_live_{}", r(ALNUM, 24, 30))),
        (
            "stripe_restricted_key",
            format!("rk_test_{}", r(ALNUM, 99, 31)),
        ),
        ("twilio_api_key", format!("SK{}", r(HEX, 32, 32))),
        ("twilio_account_sid", format!("AC{}", r(HEX, 32, 33))),
        (
            "sendgrid_api_key",
            format!("SG.{}.{}", r(URLSAFE, 22, 34), r(URLSAFE, 43, 35)),
        ),
        (
            "mailgun_api_key",
            format!("key-{}", r(b"0123456789abcdefghijklmnopqrstuvwxyz", 32, 36)),
        ),
        ("npm_token", crc_token("npm_", &r(ALNUM, 30, 37))),
        (
            "pypi_token",
            format!("pypi-AgEIcHlwaS5vcmc{}", r(URLSAFE, 160, 38)),
        ),
        ("docker_hub_pat", format!("dckr_pat_{}", r(URLSAFE, 27, 39))),
        ("digitalocean_token", format!("dop_v1_{}", r(HEX, 64, 40))),
        ("shopify_token", format!("shpat_{}", r(HEX, 32, 41))),
        (
            "atlassian_api_token",
            format!("ATATT3xFfGF0{}=1A2B3C4D", r(URLSAFE, 175, 42)),
        ),
        (
            "new_relic_key",
            format!(
                "NRAK-{}",
                r(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 27, 43)
            ),
        ),
        (
            "telegram_bot_token",
            format!(
                "{}:AA{}",
                r(DIGITS, 9, 44).replacen('0', "1", 1),
                r(URLSAFE, 33, 45)
            ),
        ),
    ];
    for (kind, token) in &cases {
        expect_one(&s, &format!("export TOKEN_VALUE={token}\n"), kind, token);
        expect_one(&s, &format!("{{\"credential\": \"{token}\"}}"), kind, token);
    }
    let hook = format!(
        "https://hooks.slack.com/services/T0{}/B0{}/{}",
        r(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8, 46),
        r(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8, 47),
        r(ALNUM, 24, 48)
    );
    let got = found(&s, &format!("post alerts to {hook} please"));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "slack_webhook");
    assert!(hook.ends_with(&got[0].1));
    let dd = r(HEX, 32, 49);
    expect_one(&s, &format!("DD_API_KEY={dd}"), "datadog_api_key", &dd);
    // A bare 32-hex string (an MD5) is not a Datadog key.
    assert!(s.scan(&format!("md5 {dd}")).is_empty());
}

#[test]
fn discord_needs_context() {
    let s = Screener::builtin();
    let token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbCdE.abcdefghijklmnopqrstuvwxyzABCDEFGH12";
    expect_one(
        &s,
        &format!("import discord\nclient.run(\"{token}\")"),
        "discord_bot_token",
        token,
    );
    assert!(s.scan(&format!("value {token}")).is_empty());
}

#[test]
fn private_keys_and_jwt() {
    let s = Screener::builtin();
    let body = format!("{}\n{}\n", r(ALNUM, 64, 50), r(ALNUM, 64, 51));
    for (label, kind) in [
        ("RSA PRIVATE KEY", "private_key_pem"),
        ("EC PRIVATE KEY", "private_key_pem"),
        ("PRIVATE KEY", "private_key_pem"),
        ("ENCRYPTED PRIVATE KEY", "private_key_pem"),
        ("OPENSSH PRIVATE KEY", "openssh_private_key"),
    ] {
        let block = format!("-----BEGIN {label}-----\n{body}-----END {label}-----");
        expect_one(&s, &format!("here:\n{block}\nthanks"), kind, &block);
    }
    let pgp = format!(
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF{body}=AbCd\n-----END PGP PRIVATE KEY BLOCK-----"
    );
    expect_one(&s, &pgp, "pgp_private_key", &pgp);
    assert!(s.scan("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----").is_empty());
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    expect_one(&s, &format!("Authorization: Bearer {jwt}"), "jwt", jwt);
    assert!(
        s.scan("eyJhbGciOiJIUzI1NiJ9 alone is not a token")
            .is_empty()
    );
}

#[test]
fn urls_with_passwords() {
    let s = Screener::builtin();
    for url in [
        "postgres://app:Xk9mQ2vLp7Rt@db.internal.acme.io:5432/prod",
        "mysql://root:s3cr3tPw9x@10.0.3.17:3306/shop",
        "mongodb+srv://svc:Qw8eRt5yUi3o@cluster0.ab1cd.mongodb.net/orders",
        "redis://:p4ssW0rdLong1@cache:6379/0",
        "amqp://guest:Gu3stPa55w0rd@mq.internal:5672/",
    ] {
        expect_one(
            &s,
            &format!("DATABASE_URL={url}\n"),
            "database_url_with_password",
            url,
        );
    }
    expect_one(
        &s,
        "clone https://deploy:Tr0ub4dor3x@git.acme.io/repo.git now",
        "basic_auth_url",
        "https://deploy:Tr0ub4dor3x@git.acme.io/repo.git",
    );
    for text in [
        "postgres://user:@localhost/db",
        "postgres://user:${DB_PASSWORD}@localhost/db",
        "postgres://user:<password>@localhost/db",
        "postgres://user:password@localhost/db",
        "https://example.com/a:b@c",
        "redis://cache:6379/0",
    ] {
        assert!(s.scan(text).is_empty(), "{text}: {:?}", found(&s, text));
    }
}

#[test]
fn generic_assignments_and_entropy() {
    let s = Screener::builtin();
    for (text, value) in [
        ("DB_PASSWORD=Tr0ub4dor&3xKq9!", "Tr0ub4dor&3xKq9!"),
        (
            "  api_secret: \"q8Zr2LmX9vKp4TfWy7Nc\"",
            "q8Zr2LmX9vKp4TfWy7Nc",
        ),
        (
            "session_secret = 'a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4'",
            "a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4",
        ),
        ("my database password is Hx7#kP2mQ9wL", "Hx7#kP2mQ9wL"),
        ("mysqldump --password=Hx7kP2mQ9wLz3 shop", "Hx7kP2mQ9wLz3"),
    ] {
        expect_one(&s, text, "generic_secret_assignment", value);
    }
    for text in [
        "password = os.environ['DB_PASSWORD']",
        "token = auth.authenticate(username, password)",
        "password: changeme",
        "max_tokens: 4096",
        "private_key_id = \"q8Zr2LmX9vKp4TfWy7Nc\"",
        "secret_name = \"prod/payments/stripe\"",
        "const token = req.headers.authorization?.split(' ')[1];",
        "token: your-api-token-here",
    ] {
        assert!(s.scan(text).is_empty(), "{text}: {:?}", found(&s, text));
    }
    // The entropy threshold is configurable.
    let strict = Screener::new(&ScreenConfig {
        entropy_threshold: Some(4.5),
        ..ScreenConfig::default()
    })
    .unwrap();
    assert!(strict.scan("DB_PASSWORD=Tr0ub4dor&3xKq9!").is_empty());
}

#[test]
fn modelgate_keys_are_checksum_verified() {
    let s = Screener::builtin();
    let key = mgk(&r(ALNUM, 40, 52));
    let f = s.scan(&format!("Authorization: Bearer {key}"));
    assert_eq!(f.len(), 1);
    let finding = f.iter().next().unwrap();
    assert_eq!(
        (finding.kind.as_str(), finding.confidence),
        ("modelgate_api_key", Confidence::High)
    );
    let mut bad = key.clone();
    bad.replace_range(20..21, if &key[20..21] == "x" { "y" } else { "x" });
    let f = s.scan(&bad);
    assert_eq!(f.iter().next().unwrap().confidence, Confidence::Low);
}

#[test]
fn every_credential_kind_is_listed() {
    let s = Screener::builtin();
    let kinds = s.kinds();
    let credentials = kinds
        .iter()
        .filter(|k| k.category == modelgate_screen::Category::Credential)
        .count();
    assert!(credentials >= 40, "{credentials}");
    assert!(kinds.iter().all(|k| !k.description.is_empty() && !k.custom));
}
