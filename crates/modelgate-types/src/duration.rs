//! Durations as the configuration and role files write them (`"500ms"`,
//! `"30s"`, `"8h"`, `"90d"`): the one serde helper for all of them.
//!
//! Use `#[serde(with = "modelgate_types::duration")]` on a `Duration` and
//! `#[serde(default, with = "modelgate_types::duration::option")]` on an
//! `Option<Duration>`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// What a bad duration's error says (never the value written).
const EXPECTED: &str = "expected a duration such as \"500ms\", \"30s\", \"5m\", \"8h\", \"90d\"";

/// `text` as a duration; the error names the form, never the text.
fn parse<E: serde::de::Error>(text: &str) -> Result<Duration, E> {
    humantime::parse_duration(text).map_err(|_| E::custom(EXPECTED))
}

/// Parses a human-readable duration.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    parse(&String::deserialize(deserializer)?)
}

/// A duration as a configuration writes it: in the largest of `d`, `h`,
/// `m`, `s` and `ms` that holds it exactly (`"90d"`, `"24h"`, `"90m"`,
/// `"500ms"`) with fewer than 1,000 of it, never in months or years
/// (humantime's `format_duration` writes 90 days as `"2months 29days 2h 52m
/// 48s"`). A whole single day is written `"24h"`; any other value is
/// written in parts (`"1d 1s"`). Every form reads back with [`deserialize`].
pub fn format(value: Duration) -> String {
    const UNITS: [(&str, u128); 4] = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ];
    let ms = value.as_millis();
    if ms == 0 {
        return if value.is_zero() {
            "0s".to_owned()
        } else {
            humantime::format_duration(value).to_string()
        };
    }
    let exact = UNITS.iter().find(|(unit, size)| {
        ms.is_multiple_of(*size) && ms / size < 1_000 && !(*unit == "d" && ms == *size)
    });
    if value.subsec_nanos().is_multiple_of(1_000_000) {
        if let Some((unit, size)) = exact {
            return format!("{}{unit}", ms / size);
        }
        if ms < 1_000 {
            return format!("{ms}ms");
        }
    }
    let mut parts = Vec::new();
    let mut rest = ms;
    for (unit, size) in UNITS {
        if rest >= size {
            parts.push(format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if rest > 0 {
        parts.push(format!("{rest}ms"));
    }
    parts.join(" ")
}

/// Writes a duration as [`format`] does (`"8h"`, `"90d"`).
pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(*value))
}

/// The same for an optional duration (absent or `null` is `None`).
pub mod option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Parses an optional human-readable duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| super::parse(&text))
            .transpose()
    }

    /// Writes an optional duration (`None` as nothing).
    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => super::serialize(d, serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// The same for a map of durations by name (`{ agent = "10m" }`).
pub mod map {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Parses a map of human-readable durations.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, Duration>, D::Error> {
        BTreeMap::<String, String>::deserialize(deserializer)?
            .into_iter()
            .map(|(name, text)| Ok((name, super::parse(&text)?)))
            .collect()
    }

    /// Writes a map of durations.
    pub fn serialize<S: Serializer>(
        value: &BTreeMap<String, Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(value.iter().map(|(name, d)| (name, super::format(*d))))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Doc {
        #[serde(with = "crate::duration")]
        every: Duration,
        #[serde(default, with = "crate::duration::option")]
        grace: Option<Duration>,
    }

    #[test]
    fn reads_and_writes_both_forms() {
        let doc: Doc = serde_json::from_str(r#"{"every":"90s","grace":"8h"}"#).unwrap();
        assert_eq!(doc.every, Duration::from_secs(90));
        assert_eq!(doc.grace, Some(Duration::from_secs(8 * 3600)));
        let back: Doc = serde_json::from_str(&serde_json::to_string(&doc).unwrap()).unwrap();
        assert_eq!(back, doc);
        let doc: Doc = serde_json::from_str(r#"{"every":"500ms"}"#).unwrap();
        assert_eq!(doc.grace, None);
    }

    #[test]
    fn formats_as_a_configuration_writes_it() {
        use super::format;
        let day = 24 * 3600;
        for (secs, text) in [
            (90 * day, "90d"),
            (day, "24h"),
            (2 * day, "2d"),
            (8 * 3600, "8h"),
            (90 * 60, "90m"),
            (30, "30s"),
            (0, "0s"),
            (day + 1, "1d 1s"),
            (3601, "1h 1s"),
        ] {
            assert_eq!(format(Duration::from_secs(secs)), text);
            assert_eq!(
                humantime::parse_duration(text).unwrap(),
                Duration::from_secs(secs)
            );
        }
        assert_eq!(format(Duration::from_millis(500)), "500ms");
        assert_eq!(format(Duration::from_millis(1500)), "1s 500ms");
    }

    #[test]
    fn maps_of_durations() {
        #[derive(Deserialize)]
        struct Caps {
            #[serde(with = "crate::duration::map")]
            caps: std::collections::BTreeMap<String, Duration>,
        }
        let c: Caps = serde_json::from_str(r#"{"caps":{"agent":"10m"}}"#).unwrap();
        assert_eq!(c.caps["agent"], Duration::from_secs(600));
        assert!(serde_json::from_str::<Caps>(r#"{"caps":{"agent":"x"}}"#).is_err());
    }

    #[test]
    fn a_bad_duration_is_not_echoed() {
        let err = serde_json::from_str::<Doc>(r#"{"every":"mgk_canary"}"#).unwrap_err();
        assert!(err.to_string().contains("expected a duration"), "{err}");
        assert!(!err.to_string().contains("mgk_canary"), "{err}");
        assert!(serde_json::from_str::<Doc>(r#"{"every":"1s","grace":"soon"}"#).is_err());
    }
}
