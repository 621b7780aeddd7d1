//! Configuration: custom patterns (found, categorised, validated with errors
//! that name the id and never echo the regex), disabled kinds, settings,
//! and deserialisation with unknown fields refused.

use modelgate_screen::{Category, CustomPattern, ScreenConfig, ScreenError, Screener};

fn pattern(id: &str, regex: &str, keywords: &[&str]) -> CustomPattern {
    CustomPattern {
        id: id.into(),
        regex: regex.into(),
        keywords: keywords.iter().map(|k| (*k).into()).collect(),
        category: None,
        description: None,
    }
}

fn build(custom: Vec<CustomPattern>) -> Result<Screener, ScreenError> {
    Screener::new(&ScreenConfig {
        custom,
        ..ScreenConfig::default()
    })
}

#[test]
fn custom_patterns_are_found() {
    let mut employee = pattern("employee_id", r"(?-u:\b)EMP-[0-9]{6}(?-u:\b)", &[]);
    employee.description = Some("ACME employee number".into());
    let mut internal = pattern(
        "internal_token",
        r"(?i)itk_(?P<secret>[a-z0-9]{24})",
        &["itk_"],
    );
    internal.category = Some("credential".into());
    let mut codename = pattern(
        "codename",
        r"(?i)project (?:bluebird|nightjar)",
        &["project"],
    );
    codename.category = Some("custom".into());
    let s = build(vec![employee, internal, codename]).unwrap();

    let text =
        "Ask emp-000000? no: EMP-123456 owns ITK_abcdefghijklmnopqrstuvwx for Project Nightjar.";
    let f = s.scan(text);
    let got: Vec<(&str, &str, Category)> = f
        .iter()
        .map(|x| (x.kind.as_str(), &text[x.span.clone()], x.category))
        .collect();
    assert_eq!(
        got,
        vec![
            ("employee_id", "EMP-123456", Category::PersonalData),
            (
                "internal_token",
                "abcdefghijklmnopqrstuvwx",
                Category::Credential
            ),
            ("codename", "Project Nightjar", Category::Custom),
        ]
    );
    assert!(f.has_credential() && f.has_personal_data() && f.has_custom());
    let kinds = s.kinds();
    let info = kinds.iter().find(|k| k.id == "employee_id").unwrap();
    assert!(info.custom && info.description == "ACME employee number");
    assert_eq!(
        s.redact(text, &f),
        "Ask emp-000000? no: [REDACTED:employee_id] owns ITK_[REDACTED:internal_token] for [REDACTED:codename]."
    );
}

fn refused(custom: Vec<CustomPattern>) -> String {
    match build(custom) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_custom_patterns_are_refused_by_id_without_echoing_the_regex() {
    let canary = "CANARY_7f3a";
    let cases: Vec<(Vec<CustomPattern>, &str, &str)> = vec![
        (
            vec![pattern(
                "bad_regex",
                &format!("{canary}(unclosed"),
                &["abc"],
            )],
            "bad_regex",
            "does not compile",
        ),
        (
            vec![pattern("Bad-Id", "abc", &["abc"])],
            "Bad-Id",
            "[a-z0-9_]",
        ),
        (vec![pattern("jwt", "abcdef", &[])], "jwt", "built-in"),
        (
            vec![pattern("dup", "abcdef", &[]), pattern("dup", "ghijkl", &[])],
            "dup",
            "twice",
        ),
        (
            vec![pattern("empty_match", &format!("{canary}|x*"), &["abc"])],
            "empty_match",
            "empty string",
        ),
        (
            vec![pattern("no_keywords", &format!("[a-z]+{canary}"), &[])],
            "no_keywords",
            "keywords are required",
        ),
        (
            vec![pattern("short_keyword", "abcdef", &["ab"])],
            "short_keyword",
            "3 to 64 bytes",
        ),
        (
            vec![pattern(
                "too_long",
                &format!("{canary}{}", "a".repeat(2000)),
                &["abc"],
            )],
            "too_long",
            "longer than",
        ),
        (
            vec![pattern(
                "too_big",
                &format!("{canary}(?:[a-z]{{100}}){{1000}}"),
                &["abc"],
            )],
            "too_big",
            "size limit",
        ),
    ];
    for (custom, id, reason) in cases {
        let message = refused(custom);
        assert!(message.contains(&format!("`{id}`")), "{message}");
        assert!(message.contains(reason), "{message}");
        assert!(
            !message.contains(canary),
            "the regex leaked into: {message}"
        );
    }
    let mut category = pattern("weird_category", "abcdef", &[]);
    category.category = Some("secretish".into());
    assert!(refused(vec![category]).contains("category"));
}

#[test]
fn literal_prefixes_stand_in_for_keywords() {
    let s = build(vec![pattern("ticket", r"TKT-[0-9]{5}", &[])]).unwrap();
    assert_eq!(
        s.scan("see tkt-12345 and TKT-54321").kinds(),
        vec!["ticket"]
    );
    assert_eq!(s.scan("see TKT-54321").len(), 1);
}

#[test]
fn disabled_kinds_and_settings() {
    let off = Screener::new(&ScreenConfig {
        disabled: vec!["jwt".into(), "email".into()],
        ..ScreenConfig::default()
    })
    .unwrap();
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    assert!(off.scan(&format!("{jwt} jane@acme-corp.io")).is_empty());
    assert!(off.kinds().iter().all(|k| k.id != "jwt" && k.id != "email"));
    let unknown = Screener::new(&ScreenConfig {
        disabled: vec!["no_such_kind".into()],
        ..ScreenConfig::default()
    });
    assert!(matches!(unknown, Err(ScreenError::UnknownKind(ref k)) if k == "no_such_kind"));
    for bad in [0.0, -1.0, 9.0, f64::NAN] {
        let r = Screener::new(&ScreenConfig {
            entropy_threshold: Some(bad),
            ..ScreenConfig::default()
        });
        assert!(
            matches!(
                r,
                Err(ScreenError::InvalidSetting {
                    field: "entropy_threshold",
                    ..
                })
            ),
            "{bad}"
        );
    }
    assert!(
        Screener::new(&ScreenConfig {
            max_scan_bytes: Some(0),
            ..ScreenConfig::default()
        })
        .is_err()
    );
}

#[test]
fn max_scan_bytes_truncates_and_says_so() {
    let s = Screener::new(&ScreenConfig {
        max_scan_bytes: Some(64),
        ..ScreenConfig::default()
    })
    .unwrap();
    let text = format!("{}jane@acme-corp.io", "é".repeat(40));
    let f = s.scan(&text);
    assert!(f.truncated() && f.is_empty());
    assert!(!s.scan("jane@acme-corp.io").truncated());
}

#[test]
fn config_deserialises_and_refuses_unknown_fields() {
    let json = r#"{
        "disabled": ["ipv6_address"],
        "entropy_threshold": 3.5,
        "max_scan_bytes": 1048576,
        "custom": [{"id": "employee_id", "regex": "EMP-[0-9]{6}", "category": "personal_data", "description": "staff"}]
    }"#;
    let config: ScreenConfig = serde_json::from_str(json).unwrap();
    let s = Screener::new(&config).unwrap();
    assert_eq!(s.scan("owner EMP-123456").kinds(), vec!["employee_id"]);
    assert!(serde_json::from_str::<ScreenConfig>(r#"{"disabeld": []}"#).is_err());
    assert!(
        serde_json::from_str::<ScreenConfig>(
            r#"{"custom": [{"id": "x", "regex": "abc", "colour": 1}]}"#
        )
        .is_err()
    );
    let empty: ScreenConfig = serde_json::from_str("{}").unwrap();
    assert!(Screener::new(&empty).is_ok());
}
