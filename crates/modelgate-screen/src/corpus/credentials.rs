//! Realistic fake credentials of every built-in kind, in their real formats
//! (checksums, structure and alphabets included), from a seeded [`Rng`].

use std::ops::Range;

use super::rng::{self, BASE62, BASE64, DIGITS, HEX, LETTERS, Rng, UPPER_DIGITS, URLSAFE};

/// A generated value and the part of it that is the secret.
pub(crate) struct Secret {
    pub text: String,
    pub label: Range<usize>,
}

impl Secret {
    pub(crate) fn whole(text: String) -> Secret {
        Secret {
            label: 0..text.len(),
            text,
        }
    }
}

/// Random characters that end in an alphanumeric one (a trailing `-` or
/// `_` would read as punctuation).
fn tail(rng: &mut Rng, alphabet: &[u8], len: usize) -> String {
    let mut s = rng.string(alphabet, len.saturating_sub(1));
    s.push(char::from(*rng.pick(BASE62)));
    s
}

fn crc_token(rng: &mut Rng, prefix: &str) -> String {
    let random = rng.string(BASE62, 30);
    let crc = crc32fast::hash(random.as_bytes());
    format!("{prefix}{random}{}", rng::base62_fixed(u64::from(crc), 6))
}

/// A modelgate API key exactly as `modelgate-identity` builds one.
pub(crate) fn modelgate_key(rng: &mut Rng) -> String {
    let mut key = format!("mgk_{}", rng.string(BASE62, 40));
    let crc = crc32fast::hash(key.as_bytes());
    key.push_str(&rng::base62_fixed(u64::from(crc), 6));
    key
}

fn mixed(rng: &mut Rng, alphabet: &[u8], len: usize) -> String {
    loop {
        let s = rng.string(alphabet, len);
        let lower = s.bytes().any(|b| b.is_ascii_lowercase());
        let upper = s.bytes().any(|b| b.is_ascii_uppercase());
        let digit = s.bytes().any(|b| b.is_ascii_digit());
        if lower && upper && digit {
            return s;
        }
    }
}

fn pem_body(rng: &mut Rng, bytes: usize, width: usize) -> String {
    let b64 = rng::base64(&rng.bytes(bytes), false, true);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(width)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    lines.join("\n")
}

/// A password-like value: letters, digits and a few symbols.
pub(crate) fn password(rng: &mut Rng) -> String {
    const SYMBOLS: &[u8] = b"!#^*-_+=~";
    loop {
        let len = rng.range(12, 28);
        let mut s = mixed(rng, BASE62, len);
        for _ in 0..rng.range(1, 3) {
            let at = rng.below(s.len());
            s.replace_range(at..at + 1, &char::from(*rng.pick(SYMBOLS)).to_string());
        }
        if s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric()) {
            return s;
        }
    }
}

fn jwt(rng: &mut Rng) -> String {
    let alg = *rng.pick(&["HS256", "RS256", "ES256", "HS512"]);
    let header = if rng.chance(1, 2) {
        format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#)
    } else {
        format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, rng.string(HEX, 16))
    };
    let iat = 1_700_000_000 + rng.below(50_000_000);
    let payload = format!(
        r#"{{"sub":"{}","iat":{iat},"exp":{},"scope":"{}"}}"#,
        rng.string(BASE62, 12),
        iat + 3600,
        rng.pick(&["read", "read write", "admin", "chat.completions"]),
    );
    let sig_len = if alg.starts_with("RS") {
        256
    } else {
        32 + rng.below(32)
    };
    format!(
        "{}.{}.{}",
        rng::base64(header.as_bytes(), true, false),
        rng::base64(payload.as_bytes(), true, false),
        rng::base64(&rng.bytes(sig_len), true, false)
    )
}

fn host(rng: &mut Rng) -> String {
    let name = rng.pick(&[
        "db",
        "pg-main",
        "mysql-01",
        "cache",
        "mq",
        "cluster0",
        "orders-db",
        "api",
    ]);
    let domain = rng.pick(&[
        "internal.acme.io",
        "prod.svc.cluster.local",
        "eu-west-1.rds.amazonaws.com",
        "corp.lan",
        "mongodb.net",
    ]);
    format!("{name}.{domain}")
}

fn url_password(rng: &mut Rng) -> String {
    let len = rng.range(12, 24);
    mixed(rng, BASE62, len)
}

fn pem(rng: &mut Rng) -> String {
    let label = *rng.pick(&[
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "DSA PRIVATE KEY",
    ]);
    let bytes = if label.starts_with("EC") {
        121
    } else {
        600 + rng.below(600)
    };
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----",
        pem_body(rng, bytes, 64)
    )
}

/// A fake credential of `kind`, or `None` for a kind this module does not know.
pub(crate) fn generate(kind: &str, rng: &mut Rng) -> Option<Secret> {
    let text = match kind {
        "aws_access_key_id" => format!(
            "{}{}",
            rng.pick(&["AKIA", "ASIA"]),
            rng.string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
        ),
        "aws_secret_access_key" => mixed(rng, BASE64, 40),
        "gcp_api_key" => format!("AIza{}", tail(rng, URLSAFE, 35)),
        "gcp_service_account" => return Some(service_account(rng)),
        "azure_storage_key" => {
            let account = format!(
                "acme{}{}",
                rng.pick(&["store", "logs", "backup"]),
                rng.string(DIGITS, 2)
            );
            let key = format!("{}==", rng.string(BASE64, 86));
            let prefix =
                format!("DefaultEndpointsProtocol=https;AccountName={account};AccountKey=");
            let text = format!("{prefix}{key};EndpointSuffix=core.windows.net");
            return Some(Secret {
                label: prefix.len()..prefix.len() + key.len(),
                text,
            });
        }
        "azure_client_secret" => format!(
            "{}{}Q~{}",
            rng.string(BASE62, 3),
            rng.below(10),
            tail(
                rng,
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-",
                34
            )
        ),
        "github_pat" => crc_token(rng, "ghp_"),
        "github_oauth" => crc_token(rng, "gho_"),
        "github_user_token" => crc_token(rng, "ghu_"),
        "github_server_token" => crc_token(rng, "ghs_"),
        "github_refresh_token" => crc_token(rng, "ghr_"),
        "github_fine_grained_pat" => format!(
            "github_pat_11{}_{}",
            rng.string(UPPER_DIGITS, 20),
            rng.string(BASE62, 59)
        ),
        "gitlab_pat" => format!("glpat-{}", tail(rng, URLSAFE, 20)),
        "gitlab_runner_token" => format!("glrt-{}", tail(rng, URLSAFE, 20)),
        "gitlab_pipeline_trigger" => format!("glptt-{}", rng.string(HEX, 40)),
        "openai_api_key" => match rng.below(3) {
            0 => format!(
                "sk-{}T3BlbkFJ{}",
                rng.string(BASE62, 20),
                rng.string(BASE62, 20)
            ),
            1 => format!(
                "sk-proj-{}T3BlbkFJ{}",
                rng.string(URLSAFE, 74),
                tail(rng, URLSAFE, 74)
            ),
            _ => format!(
                "sk-svcacct-{}T3BlbkFJ{}",
                rng.string(URLSAFE, 74),
                tail(rng, URLSAFE, 74)
            ),
        },
        "anthropic_api_key" => format!("sk-ant-api03-{}AA", rng.string(URLSAFE, 93)),
        "anthropic_admin_key" => format!("sk-ant-admin01-{}AA", rng.string(URLSAFE, 93)),
        "huggingface_token" => format!("hf_{}", mixed_letters(rng, 34)),
        "slack_bot_token" => format!(
            "xoxb-{}-{}-{}",
            rng.string(DIGITS, 11),
            rng.string(DIGITS, 13),
            rng.string(BASE62, 24)
        ),
        "slack_user_token" => format!(
            "xoxp-{}-{}-{}-{}",
            rng.string(DIGITS, 11),
            rng.string(DIGITS, 11),
            rng.string(DIGITS, 13),
            rng.string(HEX, 32)
        ),
        "slack_app_token" => format!(
            "xapp-1-A0{}-{}-{}",
            rng.string(UPPER_DIGITS, 9),
            rng.string(DIGITS, 13),
            rng.string(HEX, 64)
        ),
        "slack_webhook" => format!(
            "https://hooks.slack.com/services/T0{}/B0{}/{}",
            rng.string(UPPER_DIGITS, 8),
            rng.string(UPPER_DIGITS, 8),
            rng.string(BASE62, 24)
        ),
        "stripe_secret_key" => format!(
            "sk_{}_{}",
            rng.pick(&["live", "test"]),
            rng.string_of(BASE62, &[24, 99])
        ),
        "stripe_restricted_key" => format!(
            "rk_{}_{}",
            rng.pick(&["live", "test"]),
            rng.string_of(BASE62, &[24, 99])
        ),
        "twilio_api_key" => format!("SK{}", rng.string(HEX, 32)),
        "twilio_account_sid" => format!("AC{}", rng.string(HEX, 32)),
        "sendgrid_api_key" => format!("SG.{}.{}", rng.string(URLSAFE, 22), tail(rng, URLSAFE, 43)),
        "mailgun_api_key" => loop {
            let body = rng.string(b"0123456789abcdefghijklmnopqrstuvwxyz", 32);
            if body.bytes().filter(u8::is_ascii_digit).count() >= 3 {
                break format!("key-{body}");
            }
        },
        "npm_token" => crc_token(rng, "npm_"),
        "pypi_token" => format!("pypi-AgEIcHlwaS5vcmc{}", {
            let len = rng.range(150, 200);
            tail(rng, URLSAFE, len)
        }),
        "docker_hub_pat" => format!("dckr_pat_{}", tail(rng, URLSAFE, 27)),
        "digitalocean_token" => format!("dop_v1_{}", rng.string(HEX, 64)),
        "shopify_token" => format!("{}{}", rng.pick(&["shpat_", "shpss_"]), rng.string(HEX, 32)),
        "atlassian_api_token" => format!(
            "ATATT3xFfGF0{}={}",
            rng.string(URLSAFE, 175),
            rng.string(b"0123456789ABCDEF", 8)
        ),
        "datadog_api_key" => loop {
            let v = rng.string(HEX, 32);
            if v.bytes().any(|b| b.is_ascii_alphabetic()) {
                break v;
            }
        },
        "new_relic_key" => format!("NRAK-{}", rng.string(UPPER_DIGITS, 27)),
        "discord_bot_token" => {
            let id = format!("1{}", rng.string(DIGITS, 17));
            format!(
                "{}.{}.{}",
                rng::base64(id.as_bytes(), true, false),
                tail(rng, URLSAFE, 6),
                tail(rng, URLSAFE, 38)
            )
        }
        "telegram_bot_token" => format!(
            "{}{}:AA{}",
            rng.range(1, 9),
            rng.string(DIGITS, 8),
            tail(rng, URLSAFE, 33)
        ),
        "private_key_pem" => pem(rng),
        "openssh_private_key" => format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n{}\n-----END OPENSSH PRIVATE KEY-----",
            {
                let n = 300 + rng.below(300);
                pem_body(rng, n, 70)
            }
        ),
        "pgp_private_key" => format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF{}\n={}\n-----END PGP PRIVATE KEY BLOCK-----",
            pem_body(rng, 700, 64),
            rng.string(BASE64, 4)
        ),
        "jwt" => jwt(rng),
        "database_url_with_password" => {
            let scheme = *rng.pick(&[
                "postgres",
                "postgresql",
                "mysql",
                "mongodb+srv",
                "mongodb",
                "redis",
                "amqp",
            ]);
            let user = rng.pick(&["app", "admin", "svc_orders", "readonly", "etl"]);
            let port = match scheme {
                "postgres" | "postgresql" => ":5432",
                "mysql" => ":3306",
                "redis" => ":6379",
                "amqp" => ":5672",
                _ => "",
            };
            format!(
                "{scheme}://{user}:{}@{}{port}/{}",
                url_password(rng),
                host(rng),
                rng.pick(&["prod", "orders", "app", "analytics"])
            )
        }
        "basic_auth_url" => format!(
            "https://{}:{}@{}/{}",
            rng.pick(&["deploy", "ci-bot", "jenkins", "alice"]),
            url_password(rng),
            rng.pick(&[
                "git.acme.io",
                "artifacts.corp.lan",
                "registry.internal.acme.io",
                "nexus.acme.io"
            ]),
            rng.pick(&["repo.git", "api/v1/upload", "simple/", "releases"])
        ),
        "generic_secret_assignment" => match rng.below(4) {
            0 => password(rng),
            1 => rng.string_of(HEX, &[32, 40, 64]),
            2 => {
                let len = rng.range(24, 44);
                tail(rng, BASE64, len)
            }
            _ => {
                let len = rng.range(20, 40);
                mixed(rng, BASE62, len)
            }
        },
        "modelgate_api_key" => modelgate_key(rng),
        _ => return None,
    };
    Some(Secret::whole(text))
}

fn mixed_letters(rng: &mut Rng, len: usize) -> String {
    loop {
        let s = rng.string(LETTERS, len);
        if s.bytes().any(|b| b.is_ascii_uppercase()) && s.bytes().any(|b| b.is_ascii_lowercase()) {
            return s;
        }
    }
}

/// A service account key file; the secret is the `private_key` value.
fn service_account(rng: &mut Rng) -> Secret {
    let project = format!(
        "{}-{}",
        rng.pick(&["acme-prod", "billing", "ml-platform", "data-lake"]),
        rng.range(100, 999)
    );
    let n = 900 + rng.below(300);
    let body = pem_body(rng, n, 64).replace('\n', "\\n");
    let key = format!("-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n");
    let head = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"{project}\",\n  \"private_key_id\": \"{}\",\n  \"private_key\": \"",
        rng.string(HEX, 40)
    );
    let text = format!(
        "{head}{key}\",\n  \"client_id\": \"{}\",\n  \"auth_uri\": \"https://accounts.google.com/o/oauth2/auth\",\n  \"token_uri\": \"https://oauth2.googleapis.com/token\"\n}}",
        rng.string(DIGITS, 21)
    );
    Secret {
        label: head.len()..head.len() + key.len(),
        text,
    }
}
