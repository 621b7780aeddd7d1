//! Personal-data detectors: email, phone, payment card (Luhn, IIN), IBAN
//! (mod-97), US SSN (issued ranges), IPv4 and IPv6, and their near misses.

mod common;

use common::{expect_one, found};
use modelgate_screen::{Category, Confidence, ScreenConfig, Screener};

#[test]
fn emails() {
    let s = Screener::builtin();
    expect_one(
        &s,
        "write to jane.doe+billing@acme-corp.io today",
        "email",
        "jane.doe+billing@acme-corp.io",
    );
    expect_one(
        &s,
        "<li.wei99@mail.uni-wien.ac.at>",
        "email",
        "li.wei99@mail.uni-wien.ac.at",
    );
    let f = s.scan("contact: ops@example.com");
    assert_eq!(
        f.iter().next().map(|f| f.confidence),
        Some(Confidence::Low),
        "reserved domains are Low"
    );
    for text in [
        "icon@2x.png",
        "git@github.com:acme/api.git",
        "@Override",
        "npm i lodash@4.17.21",
        "user@localhost",
    ] {
        assert!(s.scan(text).is_empty(), "{text}: {:?}", found(&s, text));
    }
}

#[test]
fn phone_numbers() {
    let s = Screener::builtin();
    for phone in [
        "+1 415 555 2671",
        "+1-415-555-0132",
        "(415) 555-0132",
        "415-555-0132",
        "+44 20 7946 0958",
        "+49 30 12345678",
        "+33 6 12 34 56 78",
        "06 12 34 56 78",
        "020 7946 0958",
        "+14155550132",
    ] {
        expect_one(
            &s,
            &format!("call me at {phone} tomorrow"),
            "phone_number",
            phone,
        );
    }
    for text in [
        "ts 1710512527",
        "at 2024-03-15 14:22:07",
        "build 2023-11-15",
        "v 1.2.3",
        "call 155-555-0132",
        "n 1234567",
        "x 0 100 200 300",
    ] {
        assert!(s.scan(text).is_empty(), "{text}: {:?}", found(&s, text));
    }
}

#[test]
fn payment_cards_need_luhn_and_issuer() {
    let s = Screener::builtin();
    for card in [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "5555555555554444",
        "3782 822463 10005",
        "6011 1111 1111 1117",
        "2223 0031 2200 3222",
    ] {
        expect_one(
            &s,
            &format!("card: {card}, exp 12/27"),
            "payment_card",
            card,
        );
    }
    for text in [
        "card: 4111 1111 1111 1112",
        "order 1234567812345678",
        "id 9111111111111111",
        "ts_ms 1700000000123",
    ] {
        assert!(s.scan(text).is_empty(), "{text}: {:?}", found(&s, text));
    }
}

#[test]
fn ibans_need_mod97() {
    let s = Screener::builtin();
    for iban in [
        "DE89370400440532013000",
        "DE89 3704 0044 0532 0130 00",
        "GB82 WEST 1234 5698 7654 32",
        "FR1420041010050500013M02606",
    ] {
        expect_one(&s, &format!("IBAN: {iban}."), "iban", iban);
    }
    for text in [
        "IBAN: DE89370400440532013001",
        "IBAN: DE8937040044053201300",
        "ZZ89370400440532013000",
    ] {
        assert!(s.scan(text).is_empty(), "{text}: {:?}", found(&s, text));
    }
}

#[test]
fn ssns_exclude_never_issued_ranges() {
    let s = Screener::builtin();
    expect_one(&s, "SSN 219-09-9999 on file", "us_ssn", "219-09-9999");
    for bad in [
        "000-12-3456",
        "666-12-3456",
        "912-12-3456",
        "123-00-3456",
        "123-45-0000",
    ] {
        assert!(s.scan(&format!("SSN {bad} on file")).is_empty(), "{bad}");
    }
}

#[test]
fn ip_addresses() {
    let s = Screener::builtin();
    expect_one(
        &s,
        "login from 203.0.113.7 at noon",
        "ipv4_address",
        "203.0.113.7",
    );
    expect_one(
        &s,
        "upstream 10.1.2.3:8080 down",
        "ipv4_address",
        "10.1.2.3",
    );
    for text in [
        "127.0.0.1",
        "0.0.0.0",
        "255.255.255.0",
        "version 1.2.3.4",
        "v1.2.3.4",
        "1.3.6.1.4.1",
        "300.1.2.3",
    ] {
        assert!(s.scan(text).is_empty(), "{text}: {:?}", found(&s, text));
    }
    expect_one(
        &s,
        "peer 2001:db8:85a3::8a2e:370:7334 joined",
        "ipv6_address",
        "2001:db8:85a3::8a2e:370:7334",
    );
    let f = s.scan("peer fe80::1ff:fe23:4567:890a joined");
    assert_eq!(f.iter().next().map(|f| f.confidence), Some(Confidence::Low));
    for text in [
        "::1",
        "1:2:3:4:5:6:7:8",
        "12:30:45",
        "00:1a:2b:3c:4d:5e",
        "std::io::Result",
    ] {
        assert!(s.scan(text).is_empty(), "{text}: {:?}", found(&s, text));
    }
}

#[test]
fn categories_and_disabling() {
    let s = Screener::builtin();
    let f = s.scan("jane@acme-corp.io, card 4111 1111 1111 1111");
    assert!(f.has_personal_data() && !f.has_credential());
    assert_eq!(f.kinds(), vec!["email", "payment_card"]);
    assert!(f.iter().all(|x| x.category == Category::PersonalData));
    let no_email = Screener::new(&ScreenConfig {
        disabled: vec!["email".into()],
        ..ScreenConfig::default()
    })
    .unwrap();
    assert_eq!(
        no_email
            .scan("jane@acme-corp.io, card 4111 1111 1111 1111")
            .kinds(),
        vec!["payment_card"]
    );
    assert!(no_email.kinds().iter().all(|k| k.id != "email"));
}
