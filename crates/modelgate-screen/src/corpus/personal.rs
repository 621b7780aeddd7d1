//! Realistic fake personal data: emails, phone numbers, Luhn-valid card
//! numbers, mod-97-valid IBANs, SSNs in issued ranges, IP addresses.

use super::rng::{DIGITS, HEX, Rng, UPPER_DIGITS};
use crate::pii::iin_ok;
use crate::validate;

const FIRST: &[&str] = &[
    "jane", "omar", "li", "maria", "k.tanaka", "sven", "amara", "p.dubois", "noah", "fatima",
];
const LAST: &[&str] = &[
    "doe",
    "haddad",
    "wei",
    "garcia",
    "smith",
    "lindqvist",
    "okafor",
    "martin",
    "kowalski",
    "rossi",
];
const DOMAINS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "acme-corp.io",
    "proton.me",
    "fastmail.fm",
    "firma.de",
    "uni-wien.ac.at",
    "yahoo.co.uk",
];

fn email(rng: &mut Rng) -> String {
    let sep = *rng.pick(&[".", "_", "", "+work."]);
    let num = if rng.chance(1, 3) {
        rng.range(1, 99).to_string()
    } else {
        String::new()
    };
    format!(
        "{}{sep}{}{num}@{}",
        rng.pick(FIRST),
        rng.pick(LAST),
        rng.pick(DOMAINS)
    )
}

fn phone(rng: &mut Rng) -> String {
    let d = |rng: &mut Rng, n: usize| rng.string(DIGITS, n);
    let nxx = |rng: &mut Rng| format!("{}{}", rng.range(2, 9), rng.string(DIGITS, 2));
    match rng.below(9) {
        0 => format!("+1 {} {} {}", nxx(rng), nxx(rng), d(rng, 4)),
        1 => format!("+1-{}-{}-{}", nxx(rng), nxx(rng), d(rng, 4)),
        2 => format!("({}) {}-{}", nxx(rng), nxx(rng), d(rng, 4)),
        3 => format!("{}-{}-{}", nxx(rng), nxx(rng), d(rng, 4)),
        4 => format!("+44 20 {} {}", d(rng, 4), d(rng, 4)),
        5 => format!("+49 30 {}", d(rng, 8)),
        6 => format!(
            "+33 6 {} {} {} {}",
            d(rng, 2),
            d(rng, 2),
            d(rng, 2),
            d(rng, 2)
        ),
        7 => format!(
            "0{} {} {} {} {}",
            rng.range(6, 7),
            d(rng, 2),
            d(rng, 2),
            d(rng, 2),
            d(rng, 2)
        ),
        _ => format!("+1{}{}{}", nxx(rng), nxx(rng), d(rng, 4)),
    }
}

/// A Luhn-valid number with a real issuer prefix.
pub(crate) fn card_number(rng: &mut Rng) -> String {
    let (prefix, len) = *rng.pick(&[
        ("4", 16),
        ("51", 16),
        ("55", 16),
        ("2221", 16),
        ("34", 15),
        ("37", 15),
        ("6011", 16),
        ("3530", 16),
        ("4", 19),
    ]);
    let mut digits: Vec<u8> = prefix.bytes().collect();
    while digits.len() < len - 1 {
        digits.push(*rng.pick(DIGITS));
    }
    for check in b'0'..=b'9' {
        digits.push(check);
        if validate::luhn(&digits) && iin_ok(&digits) {
            break;
        }
        digits.pop();
    }
    String::from_utf8(digits).unwrap_or_default()
}

fn card(rng: &mut Rng) -> String {
    let n = card_number(rng);
    let sep = *rng.pick(&[" ", "-", ""]);
    if n.len() == 15 {
        return format!("{}{sep}{}{sep}{}", &n[..4], &n[4..10], &n[10..]);
    }
    let groups: Vec<&str> = n
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    groups.join(sep)
}

/// An IBAN with correct check digits for `country`, compact.
pub(crate) fn iban_compact(rng: &mut Rng, country: &str) -> String {
    let bban = match country {
        "GB" => format!(
            "{}{}",
            rng.pick(&["WEST", "BARC", "HSBC", "LOYD"]),
            rng.string(DIGITS, 14)
        ),
        "NL" => format!(
            "{}{}",
            rng.pick(&["ABNA", "INGB", "RABO"]),
            rng.string(DIGITS, 10)
        ),
        "FR" => rng.string(DIGITS, 23),
        "ES" => rng.string(DIGITS, 20),
        "IT" => format!("{}{}", rng.pick(&["X", "A", "K"]), rng.string(DIGITS, 22)),
        _ => rng.string(DIGITS, 18),
    };
    for check in 2..=98 {
        let candidate = format!("{country}{check:02}{bban}");
        if validate::iban_mod97(candidate.as_bytes()) {
            return candidate;
        }
    }
    format!("{country}00{bban}")
}

fn iban(rng: &mut Rng) -> String {
    let country = *rng.pick(&["DE", "GB", "NL", "FR", "ES", "IT"]);
    let compact = iban_compact(rng, country);
    if rng.chance(1, 2) {
        return compact;
    }
    let groups: Vec<&str> = compact
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    groups.join(" ")
}

fn ssn(rng: &mut Rng) -> String {
    loop {
        let area = rng.range(1, 899);
        if area != 666 {
            return format!(
                "{area:03}-{:02}-{:04}",
                rng.range(1, 99),
                rng.range(1, 9999)
            );
        }
    }
}

fn ipv4(rng: &mut Rng) -> String {
    let first = *rng.pick(&[10, 23, 45, 81, 172, 185, 192, 203, 91, 151]);
    format!(
        "{first}.{}.{}.{}",
        rng.range(0, 255),
        rng.range(0, 255),
        rng.range(1, 254)
    )
}

fn ipv6(rng: &mut Rng) -> String {
    let g = |rng: &mut Rng| format!("{:x}", 0x1000 + rng.below(0xefff));
    match rng.below(3) {
        0 => (0..8).map(|_| g(rng)).collect::<Vec<_>>().join(":"),
        1 => format!("2001:db8:{}::{}:{}", g(rng), g(rng), g(rng)),
        _ => format!("fe80::{}:{}:{}", g(rng), rng.string(HEX, 4), g(rng)),
    }
}

/// Fake personal data of `kind`, or `None` for a kind this module does not know.
pub(crate) fn generate(kind: &str, rng: &mut Rng) -> Option<String> {
    Some(match kind {
        "email" => email(rng),
        "phone_number" => phone(rng),
        "payment_card" => card(rng),
        "iban" => iban(rng),
        "us_ssn" => ssn(rng),
        "ipv4_address" => ipv4(rng),
        "ipv6_address" => ipv6(rng),
        _ => return None,
    })
}

/// An upper-case id that is not a secret (order numbers and the like).
pub(crate) fn order_id(rng: &mut Rng) -> String {
    format!(
        "{}-{}",
        rng.pick(&["ORD", "INV", "PO", "TKT"]),
        rng.string(UPPER_DIGITS, 8)
    )
}
