//! Token detectors: credentials with a distinctive prefix or infix, found as
//! the run of token characters around a keyword and checked by hand
//! (length, alphabet, structure, checksum). No regex on this path.

use super::{TokenSpec, Verdict};
use crate::charset::{
    self, ALNUM, BASE32, BASE64, COLON, DASH, DIGIT, DOT, EQUALS, HEX, HEX_ANY, LOWER, SLASH,
    UNDERSCORE, UPPER, URLSAFE,
};
use crate::finding::Confidence::{self, High, Low, Medium};
use crate::validate;

const WORD: u16 = ALNUM | UNDERSCORE;

const fn t(
    kind: &'static str,
    keywords: &'static [&'static str],
    run: u16,
    check: fn(&[u8], usize) -> Verdict,
) -> TokenSpec {
    TokenSpec {
        kind,
        keywords,
        run,
        check,
    }
}

/// Every token detector.
pub(crate) const TOKENS: &[TokenSpec] = &[
    t(
        "aws_access_key_id",
        &["AKIA", "ASIA", "ABIA", "ACCA"],
        ALNUM,
        aws_key_id,
    ),
    t("gcp_api_key", &["AIza"], URLSAFE, |r, kw| {
        fixed(r, kw, 4, 35, URLSAFE, High)
    }),
    t(
        "azure_storage_key",
        &["AccountKey="],
        BASE64 | EQUALS,
        azure_storage,
    ),
    t("github_pat", &["ghp_"], WORD, github),
    t("github_oauth", &["gho_"], WORD, github),
    t("github_user_token", &["ghu_"], WORD, github),
    t("github_server_token", &["ghs_"], WORD, github),
    t("github_refresh_token", &["ghr_"], WORD, github),
    t(
        "github_fine_grained_pat",
        &["github_pat_"],
        WORD,
        github_fine_grained,
    ),
    t("gitlab_pat", &["glpat-"], URLSAFE | DOT, gitlab),
    t("gitlab_runner_token", &["glrt-"], URLSAFE | DOT, gitlab),
    t(
        "gitlab_pipeline_trigger",
        &["glptt-"],
        URLSAFE | DOT,
        gitlab,
    ),
    t("openai_api_key", &["T3BlbkFJ"], URLSAFE, openai),
    t("anthropic_api_key", &["sk-ant-"], URLSAFE, |r, kw| {
        anthropic(r, kw, b"sk-ant-api03-")
    }),
    t("anthropic_admin_key", &["sk-ant-"], URLSAFE, |r, kw| {
        anthropic(r, kw, b"sk-ant-admin01-")
    }),
    t("huggingface_token", &["hf_"], WORD, huggingface),
    t("slack_bot_token", &["xoxb-"], ALNUM | DASH, slack_bot),
    t("slack_user_token", &["xoxp-"], ALNUM | DASH, slack_user),
    t("slack_app_token", &["xapp-"], ALNUM | DASH, slack_app),
    t(
        "slack_webhook",
        &["hooks.slack.com"],
        URLSAFE | DOT | SLASH,
        slack_webhook,
    ),
    t(
        "stripe_secret_key",
        &["k_live_", "k_test_"],
        WORD,
        |r, kw| stripe(r, kw, b's'),
    ),
    t(
        "stripe_restricted_key",
        &["k_live_", "k_test_"],
        WORD,
        |r, kw| stripe(r, kw, b'r'),
    ),
    t("sendgrid_api_key", &["SG."], URLSAFE | DOT, sendgrid),
    t("mailgun_api_key", &["key-"], ALNUM | DASH, mailgun),
    t("npm_token", &["npm_"], WORD, npm),
    t("pypi_token", &["pypi-AgEI"], URLSAFE, pypi),
    t("docker_hub_pat", &["dckr_pat_"], URLSAFE, |r, kw| {
        fixed(r, kw, 9, 27, URLSAFE, High)
    }),
    t("digitalocean_token", &["dop_v1_"], WORD, |r, kw| {
        fixed(r, kw, 7, 64, HEX, High)
    }),
    t("shopify_token", &["shpat_", "shpss_"], WORD, |r, kw| {
        fixed(r, kw, 6, 32, HEX_ANY, High)
    }),
    t(
        "atlassian_api_token",
        &["ATATT3"],
        URLSAFE | EQUALS,
        atlassian,
    ),
    t("new_relic_key", &["NRAK-"], ALNUM | DASH, |r, kw| {
        fixed(r, kw, 5, 27, UPPER | DIGIT, High)
    }),
    t("telegram_bot_token", &[":AA"], URLSAFE | COLON, telegram),
    t("jwt", &["eyJ"], URLSAFE | DOT, super::jwt::check),
    t("modelgate_api_key", &["mgk_"], WORD, modelgate),
];

/// The run starts at the keyword, is `prefix + body` long, and the body is
/// all `body_set`.
fn fixed(
    run: &[u8],
    kw: usize,
    prefix: usize,
    body: usize,
    body_set: u16,
    c: Confidence,
) -> Verdict {
    (kw == 0 && run.len() == prefix + body && charset::all(&run[prefix..], body_set))
        .then_some((0..run.len(), c))
}

fn whole(run: &[u8], c: Confidence) -> Verdict {
    Some((0..run.len(), c))
}

/// Drops trailing `.` and `-` (sentence punctuation glued to a token).
fn trim_end(run: &[u8]) -> &[u8] {
    let mut end = run.len();
    while end > 0 && matches!(run[end - 1], b'.' | b'-') {
        end -= 1;
    }
    &run[..end]
}

fn aws_key_id(run: &[u8], kw: usize) -> Verdict {
    // AWS documents AKIAIOSFODNN7EXAMPLE and friends: public examples, not
    // secrets, so anything ending in EXAMPLE is skipped.
    if run.ends_with(b"EXAMPLE") {
        return None;
    }
    fixed(run, kw, 4, 16, BASE32, High)
}

fn azure_storage(run: &[u8], kw: usize) -> Verdict {
    let value = run.get(11..)?;
    (kw == 0 && value.len() == 88 && value.ends_with(b"==") && charset::all(&value[..86], BASE64))
        .then_some((11..run.len(), High))
}

fn github(run: &[u8], kw: usize) -> Verdict {
    if kw != 0 || run.len() != 40 || !charset::all(&run[4..], ALNUM) {
        return None;
    }
    whole(
        run,
        if validate::crc_suffix_ok(&run[4..]) {
            High
        } else {
            Medium
        },
    )
}

fn github_fine_grained(run: &[u8], kw: usize) -> Verdict {
    (kw == 0
        && run.len() == 93
        && charset::all(&run[11..33], ALNUM)
        && run[33] == b'_'
        && charset::all(&run[34..], ALNUM))
    .then_some((0..93, High))
}

fn gitlab(run: &[u8], kw: usize) -> Verdict {
    let run = trim_end(run);
    let prefix = run.iter().position(|&b| b == b'-')? + 1;
    let body = run.len().checked_sub(prefix)?;
    (kw == 0 && (20..=64).contains(&body) && validate::char_classes(&run[prefix..]) >= 2)
        .then_some((0..run.len(), High))
}

fn openai(run: &[u8], kw: usize) -> Verdict {
    let tail = run.len().checked_sub(kw + 8)?;
    (run.starts_with(b"sk-") && (40..=300).contains(&run.len()) && kw >= 13 && tail >= 10)
        .then_some((0..run.len(), High))
}

fn anthropic(run: &[u8], kw: usize, prefix: &[u8]) -> Verdict {
    (kw == 0 && run.starts_with(prefix) && run.len() == prefix.len() + 95 && run.ends_with(b"AA"))
        .then_some((0..run.len(), High))
}

fn huggingface(run: &[u8], kw: usize) -> Verdict {
    let body = run.get(3..)?;
    (kw == 0
        && body.len() == 34
        && charset::all(body, UPPER | LOWER)
        && body.iter().any(u8::is_ascii_uppercase)
        && body.iter().any(u8::is_ascii_lowercase))
    .then_some((0..run.len(), High))
}

/// Splits on `-` and checks each part against `(min, max, set)`.
fn dashed(run: &[u8], kw: usize, parts: &[(usize, usize, u16)]) -> Verdict {
    if kw != 0 {
        return None;
    }
    let mut split = run.split(|&b| b == b'-').skip(1);
    for &(min, max, set) in parts {
        let part = split.next()?;
        if part.len() < min || part.len() > max || !charset::all(part, set) {
            return None;
        }
    }
    split.next().is_none().then_some((0..run.len(), High))
}

fn slack_bot(run: &[u8], kw: usize) -> Verdict {
    dashed(
        run,
        kw,
        &[(10, 13, DIGIT), (10, 13, DIGIT), (24, 34, ALNUM)],
    )
}

fn slack_user(run: &[u8], kw: usize) -> Verdict {
    dashed(
        run,
        kw,
        &[
            (10, 13, DIGIT),
            (10, 13, DIGIT),
            (10, 13, DIGIT),
            (32, 32, HEX),
        ],
    )
}

fn slack_app(run: &[u8], kw: usize) -> Verdict {
    dashed(
        run,
        kw,
        &[
            (1, 1, DIGIT),
            (9, 12, UPPER | DIGIT),
            (10, 13, DIGIT),
            (64, 64, HEX),
        ],
    )
}

fn slack_webhook(run: &[u8], kw: usize) -> Verdict {
    let url = trim_end(&run[kw..]);
    let rest = url.strip_prefix(b"hooks.slack.com/services/".as_slice())?;
    let mut parts = rest.split(|&b| b == b'/');
    let team = parts.next()?;
    let bot = parts.next()?;
    let secret = parts.next()?;
    let id_ok = |p: &[u8], lead: u8| {
        (9..=13).contains(&p.len()) && p[0] == lead && charset::all(p, UPPER | DIGIT)
    };
    (parts.next().is_none()
        && id_ok(team, b'T')
        && id_ok(bot, b'B')
        && secret.len() == 24
        && charset::all(secret, ALNUM))
    .then_some((kw..kw + url.len(), High))
}

fn stripe(run: &[u8], kw: usize, lead: u8) -> Verdict {
    let body = run.get(8..)?;
    (kw == 1 && run[0] == lead && (24..=99).contains(&body.len()) && charset::all(body, ALNUM))
        .then_some((0..run.len(), High))
}

fn sendgrid(run: &[u8], kw: usize) -> Verdict {
    let run = trim_end(run);
    (kw == 0
        && run.len() == 69
        && charset::all(&run[3..25], URLSAFE)
        && run[25] == b'.'
        && charset::all(&run[26..], URLSAFE))
    .then_some((0..69, High))
}

fn mailgun(run: &[u8], kw: usize) -> Verdict {
    let body = run.get(4..)?;
    (kw == 0
        && body.len() == 32
        && charset::all(body, LOWER | DIGIT)
        && body.iter().filter(|b| b.is_ascii_digit()).count() >= 3)
        .then_some((0..run.len(), High))
}

fn npm(run: &[u8], kw: usize) -> Verdict {
    if kw != 0 || run.len() != 40 || !charset::all(&run[4..], ALNUM) {
        return None;
    }
    whole(
        run,
        if validate::crc_suffix_ok(&run[4..]) {
            High
        } else {
            Medium
        },
    )
}

fn pypi(run: &[u8], kw: usize) -> Verdict {
    (kw == 0 && run.starts_with(b"pypi-AgEIcHlwaS5vcmc") && (60..=400).contains(&run.len()))
        .then_some((0..run.len(), High))
}

fn atlassian(run: &[u8], kw: usize) -> Verdict {
    // The run may start earlier (`TOKEN=ATATT3…`: `=` is in the alphabet).
    let token = run.len() - kw;
    (150..=300)
        .contains(&token)
        .then_some((kw..run.len(), High))
}

fn telegram(run: &[u8], kw: usize) -> Verdict {
    // `bot123456789:AA…` in API URLs: the id starts after `bot`.
    let start = if run.starts_with(b"bot") { 3 } else { 0 };
    let id = run.get(start..kw)?;
    let secret = run.get(kw + 1..)?;
    ((8..=10).contains(&id.len())
        && charset::all(id, DIGIT)
        && secret.len() == 35
        && charset::all(secret, URLSAFE))
    .then_some((start..run.len(), High))
}

fn modelgate(run: &[u8], kw: usize) -> Verdict {
    if kw != 0 || run.len() != 50 || !charset::all(&run[4..], ALNUM) {
        return None;
    }
    // A valid checksum is almost certainly a real key; an invalid one is a
    // typo, a truncated copy or a lookalike.
    whole(
        run,
        if validate::mgk_checksum_ok(run) {
            High
        } else {
            Low
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: &str, run: &str) -> Verdict {
        let spec = TOKENS.iter().find(|s| s.kind == kind).unwrap();
        let kw = spec.keywords.iter().find_map(|k| run.find(k)).unwrap();
        (spec.check)(run.as_bytes(), kw)
    }

    #[test]
    fn shapes() {
        assert!(check("aws_access_key_id", "AKIAZ7VQH4NDXK2LMP3Q").is_some());
        assert!(check("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE").is_none());
        assert!(check("aws_access_key_id", "AKIAZ7VQH4NDXK2LMP3").is_none());
        assert!(check("aws_access_key_id", "AKIAZ7VQH4NDXK2LMP38").is_none());
        assert!(check("huggingface_token", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH").is_some());
        assert!(check("huggingface_token", "hf_abcdefghijklmnopqrstuvwxyzabcdefgh").is_none());
        assert!(
            check(
                "slack_bot_token",
                "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
            )
            .is_some()
        );
        assert!(check("slack_bot_token", "xoxb-123-456-abc").is_none());
        assert!(
            check(
                "telegram_bot_token",
                "bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
            )
            .is_some()
        );
        assert!(check("stripe_secret_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc").is_some());
        assert!(check("stripe_restricted_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc").is_none());
    }
}
