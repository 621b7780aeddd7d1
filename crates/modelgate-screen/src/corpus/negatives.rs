//! Hard negatives: text that looks like a secret or personal data and is
//! not. UUIDs, hashes, base64 blobs, source code, versions, dates, order
//! numbers, documented examples and placeholders, Luhn-invalid card
//! numbers, invalid IBANs, timestamps.
//!
//! AWS's documented example keys (`AKIAIOSFODNN7EXAMPLE`,
//! `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`) are published in AWS's docs
//! and grant nothing: they are treated as placeholders, not reported.

use super::personal;
use super::rng::{self, BASE62, BASE64, DIGITS, HEX, Rng};
use crate::validate;

const LOREM: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.";

const RUST: &[&str] = &[
    "fn verify_token(token: &str, keys: &KeySet) -> Result<Claims, AuthError> {\n    let header = decode_header(token)?;\n    let key = keys.get(&header.kid).ok_or(AuthError::UnknownKey)?;\n    Ok(decode::<Claims>(token, key, &Validation::new(Algorithm::EdDSA))?.claims)\n}\n",
    "let password_hash = argon2.hash_password(password.as_bytes(), &salt)?.to_string();\nstore.save_user(&user.id, &password_hash).await?;\n",
    "impl Drop for SecretString {\n    fn drop(&mut self) {\n        self.0.zeroize();\n    }\n}\n",
    "pub const MAX_TOKENS: u32 = 4096;\nlet api_key = std::env::var(\"OPENAI_API_KEY\").context(\"missing api key\")?;\n",
];

const PYTHON: &[&str] = &[
    "def login(username: str, password: str) -> Session:\n    token = auth.authenticate(username, password)\n    return Session(token=token, expires_in=3600)\n",
    "SECRET_KEY = os.environ[\"DJANGO_SECRET_KEY\"]\nDEBUG = False\nALLOWED_HOSTS = [\"app.acme.io\"]\n",
    "tokenizer = AutoTokenizer.from_pretrained(model_name)\ntokens = tokenizer(text, max_length=512, truncation=True)\n",
    "api_key = get_secret(\"prod/openai\")\nclient = OpenAI(api_key=api_key)\n",
];

const JS: &[&str] = &[
    "const token = req.headers.authorization?.split(' ')[1];\nif (!token) return res.status(401).json({ error: 'missing token' });\n",
    "export async function refreshToken(refreshToken) {\n  const res = await fetch(`${API}/oauth/token`, { method: 'POST', body: JSON.stringify({ refreshToken }) });\n  return res.json();\n}\n",
    "const password = document.querySelector('#password').value;\nif (password.length < 12) showError('password too short');\n",
];

const PLACEHOLDERS: &[&str] = &[
    "OPENAI_API_KEY=sk-...\nANTHROPIC_API_KEY=sk-ant-...\n",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
    "database:\n  password: changeme\n  user: postgres\n",
    "DB_PASSWORD=${DB_PASSWORD}\nREDIS_URL=redis://cache:6379/0\n",
    "DATABASE_URL=postgres://user:password@localhost:5432/app\n",
    "api_key: <your-api-key>\nsecret: \"{{ vault_secret }}\"\n",
    "curl -H \"Authorization: Bearer <token>\" https://api.acme.io/v1/me\n",
    "password = os.environ['DB_PASSWORD']\ntoken = os.getenv('API_TOKEN')\n",
    "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n",
    "STRIPE_SECRET_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX\n",
    "client_secret: your-client-secret-here\n",
    "MODELGATE_API_KEY=mgk_...\n",
];

const CONFIG_REFERENCES: &[&str] = &[
    "token: ${{ secrets.GITHUB_TOKEN }}\nnpm_token: ${{ secrets.NPM_TOKEN }}\n",
    "secret_version = \"projects/482913/secrets/db-pass/versions/latest\"\n",
    "SECRET_KEY_BASE = Rails.application.credentials.secret_key_base\n",
    "apiKey: config.get('apiKey'),\ntimeout: 3000,\n",
    "password_min_length: 12\npassword_max_age_days: 90\n",
    "token_endpoint: https://login.acme.io/oauth2/v2.0/token\n",
    "api_key_header = \"X-API-Key\"\n",
    "password: \"correct horse battery staple\"  # test fixture from the docs\n",
    "secretRef:\n  name: db-credentials\n  key: password\n",
    "aws secretsmanager get-secret-value --secret-id prod/db/password --query SecretString\n",
    "export VAULT_TOKEN=$(vault print token)\n",
    "tokenizer_config = {\"model_max_length\": 8192, \"padding_side\": \"left\"}\n",
];

const PROSE: &[&str] = &[
    "GPT-4o has a context window of 128k tokens; set max_tokens: 4096 to cap the reply. Token usage is billed per 1M tokens.",
    "Rotate the API key every 90 days and store the secret in the vault, never in the repository. The password policy requires 14 characters.",
    "The bearer token expires after one hour; the refresh token lasts 30 days. Use the token endpoint to exchange it.",
    "Our Q3 revenue grew 12.5% to $4.2M across 1,204 customers in 37 countries, up from 3.1M in Q2.",
    "Café crème, naïve façade, São Paulo, Zürich, 東京都, 北京市 and Ελλάδα all appeared in the travel notes; 予約番号は確認済みです.",
];

fn uuid(rng: &mut Rng) -> String {
    let h = rng.string(HEX, 32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..]
    )
}

/// One hard negative of class `class`, or `None` for an unknown class.
pub(crate) fn negative(class: &str, rng: &mut Rng) -> Option<String> {
    Some(match class {
        "uuid" => format!(
            "request_id={} trace_id={} span={}",
            uuid(rng),
            uuid(rng),
            rng.string(HEX, 16)
        ),
        "git_sha" => format!(
            "commit {}\n\n    Fix race in connection pool shutdown\n\n(cherry picked from commit {})",
            rng.string(HEX, 40),
            rng.string(HEX, 40)
        ),
        "sha256" => format!(
            "sha256:{}  dist/app-{}.tar.gz\nmd5 {}",
            rng.string(HEX, 64),
            rng.range(1, 9),
            rng.string(HEX, 32)
        ),
        "base64_image" => format!(
            "<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA{}\" alt=\"logo\">",
            rng::base64(&rng.bytes_in(200, 600), false, true)
        ),
        "base64_protobuf" => format!(
            "payload: {}",
            rng::base64(&rng.bytes_in(64, 400), false, true)
        ),
        "lorem" => LOREM.to_owned(),
        "rust_code" => (*rng.pick(RUST)).to_owned(),
        "python_code" => (*rng.pick(PYTHON)).to_owned(),
        "js_code" => (*rng.pick(JS)).to_owned(),
        "prose" => (*rng.pick(PROSE)).to_owned(),
        "version" => format!(
            "Upgraded openssl {}.{}.{} -> {}.{}.{}, kernel 6.8.0-{}-generic, node v20.{}.1, build 10.0.19045.{}",
            rng.range(1, 3),
            rng.range(0, 9),
            rng.range(0, 20),
            rng.range(1, 3),
            rng.range(0, 9),
            rng.range(0, 20),
            rng.range(10, 60),
            rng.range(1, 12),
            rng.range(1000, 4999)
        ),
        "version_quad" => format!(
            "Released version {}.{}.{}.{} (build {})",
            rng.range(1, 9),
            rng.range(0, 9),
            rng.range(0, 9),
            rng.range(0, 99),
            rng.string(HEX, 7)
        ),
        "date" => format!(
            "2024-{:02}-{:02} {:02}:{:02}:{:02} | {:02}/{:02}/2024 | Mar {}, 2024 2:22 PM | 2024{:02}{:02}T{:02}{:02}{:02}Z",
            rng.range(1, 12),
            rng.range(1, 28),
            rng.range(0, 23),
            rng.range(0, 59),
            rng.range(0, 59),
            rng.range(1, 28),
            rng.range(1, 12),
            rng.range(1, 28),
            rng.range(1, 12),
            rng.range(1, 28),
            rng.range(0, 23),
            rng.range(0, 59),
            rng.range(0, 59)
        ),
        "timestamp" => format!(
            "ts={} ts_ms={} elapsed=00:{:02}:{:02}.{:03} seq={}",
            1_600_000_000 + rng.below(200_000_000),
            1_600_000_000_000u64 + rng.next_u64() % 200_000_000_000,
            rng.range(0, 59),
            rng.range(0, 59),
            rng.range(0, 999),
            rng.string(DIGITS, 14)
        ),
        "order_number" => format!(
            "Order #{} shipped; invoice {}; tracking 1Z{}{}; ref {}",
            rng.string(DIGITS, 9),
            personal::order_id(rng),
            rng.string(b"ABCDEFGHJKLMNPRSTUVWXYZ", 6),
            rng.string(DIGITS, 10),
            personal::order_id(rng)
        ),
        "placeholder" => (*rng.pick(PLACEHOLDERS)).to_owned(),
        "luhn_invalid_card" => format!("card on file: {}", luhn_invalid(rng)),
        "invalid_iban" => format!("IBAN: {}", invalid_iban(rng)),
        "phone_like" => format!(
            "build {}-{}-{} finished, job {} took {} ms",
            rng.range(2019, 2025),
            rng.range(10, 12),
            rng.range(10, 28),
            rng.string(DIGITS, 10),
            rng.range(100, 99999)
        ),
        "hex_color_css" => format!(
            ".btn {{ color: #{}; background: #{}; margin: 0 {}px {}px; z-index: {}; }}",
            rng.string(HEX, 6),
            rng.string(HEX, 6),
            rng.range(1, 40),
            rng.range(1, 40),
            rng.range(1, 9999)
        ),
        "url_no_credentials" => format!(
            "see https://github.com/acme/{}/blob/main/src/lib.rs#L{} and postgres://localhost:5432/app and https://{}.s3.amazonaws.com/{}",
            rng.pick(&["api", "web"]),
            rng.range(1, 999),
            rng.pick(&["logs", "assets"]),
            rng.string(HEX, 12)
        ),
        "public_key" => format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} deploy@buildhost",
            rng::base64(&rng.bytes(270), false, true),
            rng.string(BASE64, 43)
        ),
        "arn_and_ids" => format!(
            "arn:aws:iam::{}:role/deploy, account {}, subnet-{}, ami-{}",
            rng.string(DIGITS, 12),
            rng.string(DIGITS, 12),
            rng.string(HEX, 17),
            rng.string(HEX, 17)
        ),
        "mac_and_times" => format!(
            "iface eth0 {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} up {}:{:02}:{:02}",
            rng.below(256),
            rng.below(256),
            rng.below(256),
            rng.below(256),
            rng.below(256),
            rng.below(256),
            rng.range(0, 23),
            rng.range(0, 59),
            rng.range(0, 59)
        ),
        "identifiers" => format!(
            "const {}Token = useToken(); const sessionSecretName = \"{}\"; let passwordField = form.{};",
            rng.pick(&["csrf", "refresh", "access"]),
            rng.pick(&["prod/session", "app-secret"]),
            rng.pick(&["password", "newPassword"])
        ),
        "package_refs" => format!(
            "npm install lodash@4.17.{} @types/node@20.{}.0 && pip install requests=={}.{}.0",
            rng.range(1, 21),
            rng.range(1, 14),
            rng.range(2, 3),
            rng.range(0, 32)
        ),
        "config_references" => (*rng.pick(CONFIG_REFERENCES)).to_owned(),
        "random_ids" => format!(
            "id={} key_id={} nonce={}",
            rng.string(BASE62, 22),
            rng.string(BASE62, 16),
            rng.string(BASE62, 24)
        ),
        _ => return None,
    })
}

/// Every class `negative` knows.
pub(crate) const CLASSES: &[&str] = &[
    "uuid",
    "git_sha",
    "sha256",
    "base64_image",
    "base64_protobuf",
    "lorem",
    "rust_code",
    "python_code",
    "js_code",
    "prose",
    "version",
    "version_quad",
    "date",
    "timestamp",
    "order_number",
    "placeholder",
    "luhn_invalid_card",
    "invalid_iban",
    "phone_like",
    "hex_color_css",
    "url_no_credentials",
    "public_key",
    "arn_and_ids",
    "mac_and_times",
    "identifiers",
    "package_refs",
    "random_ids",
    "config_references",
];

fn luhn_invalid(rng: &mut Rng) -> String {
    let mut n = personal::card_number(rng).into_bytes();
    let last = n.len() - 1;
    n[last] = b'0' + (n[last] - b'0' + 1 + rng.below(8) as u8) % 10;
    if validate::luhn(&n) {
        n[last] = b'0' + (n[last] - b'0' + 1) % 10;
    }
    String::from_utf8(n).unwrap_or_default()
}

fn invalid_iban(rng: &mut Rng) -> String {
    let country = *rng.pick(&["DE", "GB", "NL", "FR"]);
    let mut iban = personal::iban_compact(rng, country).into_bytes();
    let last = iban.len() - 1;
    iban[last] = b'0' + (iban[last] - b'0' + 1) % 10;
    String::from_utf8(iban).unwrap_or_default()
}
