//! Day arithmetic and ISO dates over Unix seconds, without a date library.

/// Unix time in seconds, UTC.
pub type UnixSeconds = i64;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Whole days from `earlier` to `later` (0 if `later` is not after it).
pub fn days_between(earlier: UnixSeconds, later: UnixSeconds) -> i64 {
    later.saturating_sub(earlier).max(0) / DAY
}

/// `YYYY-MM-DD` of a Unix time (proleptic Gregorian, UTC).
pub fn iso_date(t: UnixSeconds) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time.
pub fn iso_datetime(t: UnixSeconds) -> String {
    let secs = t.rem_euclid(DAY);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        iso_date(t),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Year, month, day of a count of days since 1970-01-01, using eras of
/// 400 years (146 097 days) so leap rules fall out of integer division.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153; // March-based month
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(951_782_400), "2000-02-29");
        assert_eq!(iso_date(1_709_164_800), "2024-02-29");
        assert_eq!(iso_date(-DAY), "1969-12-31");
        assert_eq!(iso_datetime(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn days_never_negative() {
        assert_eq!(days_between(10 * DAY, 0), 0);
        assert_eq!(days_between(0, 10 * DAY + 5), 10);
        assert_eq!(days_between(i64::MIN, i64::MAX), i64::MAX / DAY);
    }
}
