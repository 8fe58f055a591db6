//! Calendar arithmetic without a time-zone database: RFC 3339 parsing, civil dates, weekdays and the EU summer-time
//! rule. Pure functions; every time is `_unix_ms` (milliseconds since 1970-01-01 00:00 UTC) or a count of days since
//! 1970-01-01 in some fixed offset.

/// Milliseconds in a day.
pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// Milliseconds in a minute.
pub(crate) const MS_PER_MINUTE: i64 = 60_000;

/// Earliest and latest times accepted from outside (CSV, API): years 2000 to 2099. A time outside is a typo or a
/// unit mistake (seconds for milliseconds), not a parking session.
pub(crate) const MIN_UNIX_MS: i64 = 946_684_800_000; // 2000-01-01T00:00:00Z
pub(crate) const MAX_UNIX_MS: i64 = 4_102_444_800_000; // 2100-01-01T00:00:00Z

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // 0..=399
    let mp = (i64::from(m) + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // 0..=365
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // 0..=146096
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1..=12, day 1..=31) of a day counted from 1970-01-01; inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day of the week of a day counted from 1970-01-01 (a Thursday): 0 = Monday ... 6 = Sunday.
pub(crate) fn weekday(days: i64) -> u8 {
    (days + 3).rem_euclid(7) as u8
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01.
pub(crate) fn date_string(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The last Sunday of month `m` (March or October: 31 days) of year `y`, in days since 1970-01-01.
fn last_sunday_of_31_day_month(y: i64, m: u32) -> i64 {
    let last = days_from_civil(y, m, 31);
    last - i64::from((weekday(last) + 1) % 7)
}

/// Whether EU summer time is in force at `unix_ms`: from 01:00 UTC on the last Sunday of March to 01:00 UTC on the
/// last Sunday of October (Directive 2000/84/EC), the same instants in every EU time zone.
pub(crate) fn eu_summer_time(unix_ms: i64) -> bool {
    let (y, _, _) = civil_from_days(unix_ms.div_euclid(MS_PER_DAY));
    let start = last_sunday_of_31_day_month(y, 3) * MS_PER_DAY + 3_600_000;
    let end = last_sunday_of_31_day_month(y, 10) * MS_PER_DAY + 3_600_000;
    (start..end).contains(&unix_ms)
}

/// Parses an RFC 3339 time (`2024-05-01T09:30:00+02:00`, `2024-05-01T07:30:00.250Z`) into `_unix_ms`.
///
/// The offset is required (a time without one is ambiguous); `T`, `t` or a space separate date and time; a fraction
/// of a second is kept to the millisecond (truncated); a leap second (`:60`) counts as the last millisecond of its
/// minute. Years must be 2000 to 2099 ([`MIN_UNIX_MS`], [`MAX_UNIX_MS`]). The error says what is wrong, without
/// repeating the input.
pub(crate) fn parse_rfc3339(s: &str) -> Result<i64, String> {
    const SHAPE: &str = "expected an RFC 3339 time such as 2024-05-01T09:30:00+02:00";
    let b = s.as_bytes();
    if b.len() < 20 || !b.is_ascii() {
        return Err(SHAPE.into());
    }
    let num = |from: usize, to: usize| -> Result<u32, String> {
        let part = &s[from..to];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            Ok(part.parse::<u32>().map_err(|_| SHAPE.to_owned())?)
        } else {
            Err(SHAPE.into())
        }
    };
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return Err(SHAPE.into());
    }
    let (year, month, day) = (i64::from(num(0, 4)?), num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} is not 1 to 12"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!("{year:04}-{month:02} has no day {day}"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!("{hour:02}:{minute:02}:{second:02} is not a time of day"));
    }
    let mut i = 19;
    let mut ms = 0u32;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(SHAPE.into());
        }
        let frac = &s[start..i.min(start + 3)];
        ms = frac.parse::<u32>().map_err(|_| SHAPE.to_owned())? * 10u32.pow(3 - frac.len() as u32);
    }
    let offset_min: i64 = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if oh > 23 || om > 59 {
                return Err(format!("offset {oh:02}:{om:02} is not a valid UTC offset"));
            }
            let m = i64::from(oh * 60 + om);
            if *sign == b'-' { -m } else { m }
        }
        _ => return Err(format!("{SHAPE} (with Z or a +HH:MM offset at the end)")),
    };
    let (second, ms) = if second == 60 { (59, 999) } else { (second, ms) };
    let local_ms = days_from_civil(year, month, day) * MS_PER_DAY
        + i64::from(hour * 3600 + minute * 60 + second) * 1000
        + i64::from(ms);
    let unix_ms = local_ms - offset_min * MS_PER_MINUTE;
    if !(MIN_UNIX_MS..MAX_UNIX_MS).contains(&unix_ms) {
        return Err("the time is not between the years 2000 and 2099".into());
    }
    Ok(unix_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(weekday(0), 3); // Thursday
        assert_eq!(weekday(days_from_civil(2024, 5, 6)), 0); // a Monday
        assert_eq!(weekday(days_from_civil(2024, 5, 12)), 6); // a Sunday
        assert_eq!(date_string(days_from_civil(2024, 2, 29)), "2024-02-29");
    }

    #[test]
    fn parses_rfc3339() {
        let t = parse_rfc3339("2024-05-01T09:30:00+02:00").unwrap();
        assert_eq!(t, parse_rfc3339("2024-05-01T07:30:00Z").unwrap());
        assert_eq!(t, 1_714_548_600_000);
        assert_eq!(parse_rfc3339("2024-05-01 07:30:00.25z").unwrap(), t + 250);
        assert_eq!(parse_rfc3339("2024-05-01t07:30:00.123456789Z").unwrap(), t + 123);
        assert_eq!(parse_rfc3339("2024-05-01T03:00:00-04:30").unwrap(), t);
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01T07:30:00",           // no offset
            "2024-05-01T07:30:00+0200",      // offset without colon
            "2024-13-01T07:30:00Z",          // month
            "2023-02-29T07:30:00Z",          // not a leap year
            "2024-05-01T24:00:00Z",          // hour
            "2024-05-01T07:30:00.Z",         // empty fraction
            "1999-12-31T23:59:59Z",          // before 2000
            "2024-05-01T07:30:00Z trailing", // garbage
            "２０２４-05-01T07:30:00Z",      // non-ASCII digits
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn eu_summer_time_2024() {
        // 2024: from 31 March 01:00 UTC to 27 October 01:00 UTC.
        let start = parse_rfc3339("2024-03-31T01:00:00Z").unwrap();
        let end = parse_rfc3339("2024-10-27T01:00:00Z").unwrap();
        assert!(!eu_summer_time(start - 1));
        assert!(eu_summer_time(start));
        assert!(eu_summer_time(end - 1));
        assert!(!eu_summer_time(end));
    }

    proptest! {
        #[test]
        fn civil_round_trip(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn formatted_times_parse_back(ms in MIN_UNIX_MS..MAX_UNIX_MS, offset in -(23 * 60 + 59)..=(23 * 60 + 59i64)) {
            let local = ms + offset * MS_PER_MINUTE;
            let days = local.div_euclid(MS_PER_DAY);
            let in_day = local.rem_euclid(MS_PER_DAY);
            let sign = if offset < 0 { '-' } else { '+' };
            let s = format!(
                "{}T{:02}:{:02}:{:02}.{:03}{sign}{:02}:{:02}",
                date_string(days),
                in_day / 3_600_000,
                in_day / 60_000 % 60,
                in_day / 1000 % 60,
                in_day % 1000,
                offset.abs() / 60,
                offset.abs() % 60,
            );
            let parsed = parse_rfc3339(&s);
            if (MIN_UNIX_MS..MAX_UNIX_MS).contains(&ms) && (2000..2100).contains(&civil_from_days(days).0) {
                prop_assert_eq!(parsed, Ok(ms), "{}", s);
            }
        }
    }
}
