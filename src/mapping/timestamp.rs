//! The `observed_at` parser: RFC 3339 date-times and plain dates, without a date-time crate.

use crate::input::record::Timestamp;

const SECONDS_PER_DAY: i64 = 86_400;

/// Parses an `observed_at` value into seconds since the Unix epoch (UTC).
///
/// Accepted forms, with surrounding whitespace ignored:
///
/// - RFC 3339: `2024-02-29T13:45:00Z`, `2024-02-29T14:45:00+01:00`, with optional fractional
///   seconds (`…:00.123Z`, truncated to whole seconds), `T` or `t` or one space between date
///   and time, `Z` or `z`. A leap second (`:60`) counts as the first second of the next
///   minute. The offset is required: a date-time without one names no point in time.
/// - A plain date `YYYY-MM-DD`: midnight UTC of that day.
///
/// Years run from 0000 to 9999; days are checked against the month (29 February only in leap
/// years). Anything else is `None`; the mapped sources count such values as bad timestamps.
///
/// ```
/// use idstitch::mapping::parse_timestamp;
/// use idstitch::Timestamp;
///
/// assert_eq!(parse_timestamp("1970-01-02"), Some(Timestamp(86_400)));
/// assert_eq!(parse_timestamp("2024-01-01T01:00:00+01:00"), Some(Timestamp(1_704_067_200)));
/// assert_eq!(parse_timestamp("2024-01-01T00:00:00.75Z"), Some(Timestamp(1_704_067_200)));
/// assert_eq!(parse_timestamp("2023-02-29"), None);
/// assert_eq!(parse_timestamp("2024-01-01T00:00:00"), None); // no offset
/// ```
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let s = text.trim().as_bytes();
    let year = number(s, 0, 4)?;
    expect(s, 4, b'-')?;
    let month = number(s, 5, 2)?;
    expect(s, 7, b'-')?;
    let day = number(s, 8, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if s.len() == 10 {
        return Some(Timestamp(days * SECONDS_PER_DAY));
    }
    if !matches!(s.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = number(s, 11, 2)?;
    expect(s, 13, b':')?;
    let minute = number(s, 14, 2)?;
    expect(s, 16, b':')?;
    let second = number(s, 17, 2)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match s.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] => {
            let rest = s.get(i + 1..)?;
            if rest.len() != 5 {
                return None;
            }
            let hours = number(rest, 0, 2)?;
            expect(rest, 2, b':')?;
            let minutes = number(rest, 3, 2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return None,
    };
    Some(Timestamp(days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset))
}

/// The decimal number in `s[at..at + len]`, which must be ASCII digits only.
fn number(s: &[u8], at: usize, len: usize) -> Option<i64> {
    let digits = s.get(at..at + len)?;
    digits.iter().try_fold(0i64, |n, &b| b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0')))
}

fn expect(s: &[u8], at: usize, byte: u8) -> Option<()> {
    (s.get(at) == Some(&byte)).then_some(())
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Option<i64> {
        parse_timestamp(text).map(|t| t.0)
    }

    /// Parsing reads back what `Timestamp`'s `Display` writes, across four centuries.
    #[test]
    fn display_round_trips_through_parsing() {
        let step = 7_919 * 3_607; // both prime: every day, hour and minute gets visited
        for seconds in (-2_208_988_800i64..10_000_000_000).step_by(step) {
            let t = Timestamp(seconds);
            assert_eq!(parse_timestamp(&t.to_string()), Some(t), "{t}");
        }
    }

    #[test]
    fn plain_dates_are_midnight_utc() {
        assert_eq!(ts("1970-01-01"), Some(0));
        assert_eq!(ts(" 2000-03-01 "), Some(951_868_800));
        assert_eq!(ts("1969-12-31"), Some(-86_400));
        assert_eq!(ts("0000-01-01"), Some(-62_167_219_200));
        assert_eq!(ts("9999-12-31"), Some(253_402_214_400));
    }

    #[test]
    fn leap_years_follow_the_gregorian_rules() {
        assert_eq!(ts("2000-02-29"), Some(951_782_400)); // divisible by 400
        assert_eq!(ts("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        assert_eq!(ts("1900-02-29"), None); // divisible by 100, not by 400
        assert_eq!(ts("2023-02-29"), None);
        assert_eq!(ts("2024-02-30"), None);
        assert_eq!(ts("2024-04-31"), None);
        // The day after 29 February is 1 March, one day later.
        assert_eq!(ts("2024-03-01").zip(ts("2024-02-29")).map(|(a, b)| a - b), Some(86_400));
        // 2000 has 366 days, 2100 only 365.
        assert_eq!(ts("2001-01-01").zip(ts("2000-01-01")).map(|(a, b)| a - b), Some(366 * 86_400));
        assert_eq!(ts("2101-01-01").zip(ts("2100-01-01")).map(|(a, b)| a - b), Some(365 * 86_400));
    }

    #[test]
    fn rfc3339_with_offsets_and_fractions() {
        assert_eq!(ts("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(ts("1969-12-31T23:59:59Z"), Some(-1));
        assert_eq!(ts("2024-01-01T01:00:00+01:00"), Some(1_704_067_200));
        assert_eq!(ts("2023-12-31T19:30:00-04:30"), Some(1_704_067_200));
        assert_eq!(ts("2024-01-01t00:00:00z"), Some(1_704_067_200));
        assert_eq!(ts("2024-01-01 00:00:00Z"), Some(1_704_067_200));
        assert_eq!(ts("2024-01-01T00:00:00.999999999Z"), Some(1_704_067_200));
        assert_eq!(ts("2016-12-31T23:59:60Z"), Some(1_483_228_800)); // leap second
        assert_eq!(ts("2024-06-15T10:20:30+00:00"), ts("2024-06-15T10:20:30Z"));
    }

    #[test]
    fn bad_input_is_none() {
        for bad in [
            "",
            "   ",
            "2024",
            "2024-1-01",
            "2024-01-1",
            "24-01-01",
            "2024/01/01",
            "2024-00-10",
            "2024-13-01",
            "2024-01-00",
            "2024-01-32",
            "+2024-01-01",
            "2024-01-01T",
            "2024-01-01T00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:61Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+1:00",
            "2024-01-01T00:00:00+01",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00+01:60",
            "2024-01-01T00:00:00Zjunk",
            "2024-01-01X00:00:00Z",
            "２０２４-01-01",
            "2024-01-01\u{0}",
            "not a date",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }
}
