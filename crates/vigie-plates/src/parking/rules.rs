//! A zone's parking rules: when parking is paid, and the grace period. Pure functions of the rules and the times.
//!
//! # Local time
//! Paid hours are local wall-clock time, in minutes since midnight, per day of the week. Each zone stores a fixed
//! UTC offset in minutes (`utc_offset_min`, +60 for Paris in winter) and a summer-time rule: [`DstRule::Eu`] adds
//! 60 minutes from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October, the rule every
//! EU country follows; [`DstRule::None`] keeps the offset all year. No time-zone database is needed, and a zone
//! outside the EU with another rule uses `None` and has its offset updated by the operator.
//!
//! # Paid periods and the grace period
//! Ranges of the same or adjacent days that touch or overlap form one paid period (`Mon 22:00-24:00` and
//! `Tue 00:00-02:00` is one period from Monday 22:00 to Tuesday 02:00). The grace period counts from the later of
//! the vehicle's arrival and the start of the paid period it is observed in: a car parked at 08:50 in a zone paid
//! from 09:00 with 15 minutes of grace is chargeable from 09:15, not 09:05.

use serde::{Deserialize, Serialize};

use super::time::{MS_PER_DAY, MS_PER_MINUTE, date_string, eu_summer_time, weekday};

/// Minutes in a day: the exclusive end of a range that runs to midnight.
pub const MINUTES_PER_DAY: u16 = 1440;

/// The summer-time rule of a zone, added to its fixed `utc_offset_min`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DstRule {
    /// The offset holds all year.
    None,
    /// EU summer time: +60 minutes from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
    /// October.
    Eu,
}

impl DstRule {
    /// The value stored in `zone.dst_rule`.
    pub fn as_str(self) -> &'static str {
        match self {
            DstRule::None => "none",
            DstRule::Eu => "eu",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(DstRule::None),
            "eu" => Some(DstRule::Eu),
            _ => None,
        }
    }
}

/// One range of paid hours: on `weekday` (0 = Monday ... 6 = Sunday), local minutes `start_min..end_min` since
/// midnight (end exclusive; 1440 for a range that runs to midnight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PaidHours {
    pub weekday: u8,
    pub start_min: u16,
    pub end_min: u16,
}

impl PaidHours {
    /// The same range on several days: `PaidHours::days(0..=5, 9 * 60, 19 * 60)` is Monday to Saturday, 09:00 to
    /// 19:00.
    pub fn days(days: std::ops::RangeInclusive<u8>, start_min: u16, end_min: u16) -> Vec<PaidHours> {
        days.map(|weekday| PaidHours {
            weekday,
            start_min,
            end_min,
        })
        .collect()
    }

    /// Parses paid hours written `DAYS HH:MM-HH:MM`, as a configuration file gives them: `DAYS` is a day (`mon`,
    /// `tue`, `wed`, `thu`, `fri`, `sat`, `sun`), a range of days (`mon-sat`; `sat-mon` wraps over the week end)
    /// or a comma-separated list of both (`mon,wed-fri`); the end time is exclusive, `24:00` for midnight.
    /// `mon-sun 00:00-24:00` is paid around the clock. Case and extra spaces are ignored.
    ///
    /// ```
    /// # use vigie_plates::parking::PaidHours;
    /// assert_eq!(PaidHours::parse("mon-sat 09:00-19:00").unwrap(), PaidHours::days(0..=5, 9 * 60, 19 * 60));
    /// assert!(PaidHours::parse("mon 19:00-09:00").is_err());
    /// ```
    pub fn parse(spec: &str) -> Result<Vec<PaidHours>, String> {
        const SHAPE: &str = "expected DAYS HH:MM-HH:MM, such as \"mon-sat 09:00-19:00\"";
        let lower = spec.trim().to_ascii_lowercase();
        let mut parts = lower.split_whitespace();
        let (Some(days), Some(times), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("paid hours {spec:?}: {SHAPE}"));
        };
        let day = |d: &str| -> Result<u8, String> {
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|n| *n == d)
                .map(|i| i as u8)
                .ok_or_else(|| format!("paid hours {spec:?}: {d:?} is not a day (mon, tue, ... sun)"))
        };
        let minute = |t: &str, end: bool| -> Result<u16, String> {
            let bad = || format!("paid hours {spec:?}: {t:?} is not a time HH:MM");
            let (h, m) = t.split_once(':').ok_or_else(bad)?;
            if h.is_empty() || h.len() > 2 || m.len() != 2 {
                return Err(bad());
            }
            let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            let v = h * 60 + m;
            if m > 59 || v > MINUTES_PER_DAY || (v == MINUTES_PER_DAY && !end) {
                return Err(bad());
            }
            Ok(v)
        };
        let (from, to) = times
            .split_once('-')
            .ok_or_else(|| format!("paid hours {spec:?}: {SHAPE}"))?;
        let (start_min, end_min) = (minute(from, false)?, minute(to, true)?);
        if start_min >= end_min {
            return Err(format!(
                "paid hours {spec:?}: the range ends before it starts (split a range over midnight in two)"
            ));
        }
        let mut out: Vec<PaidHours> = Vec::new();
        for item in days.split(',') {
            let (a, b) = match item.split_once('-') {
                Some((a, b)) => (day(a)?, day(b)?),
                None => (day(item)?, day(item)?),
            };
            let mut d = a;
            loop {
                if !out.iter().any(|h| h.weekday == d) {
                    out.push(PaidHours {
                        weekday: d,
                        start_min,
                        end_min,
                    });
                }
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
        }
        out.sort();
        Ok(out)
    }
}

/// What the rules say about a vehicle parked from `first_seen` and still there at `seen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleCheck {
    /// Parking is free at `seen`: nothing to check.
    Free,
    /// Parking is paid at `seen`, but the grace period is not over.
    WithinGrace,
    /// Parking is paid and the grace period is over: payment must be checked. `since_unix_ms` is when the
    /// vehicle's paid parking began (the later of its arrival and the start of the paid period).
    Chargeable { since_unix_ms: i64 },
}

/// The rules of one zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneRules {
    /// Fixed offset of local time from UTC, in minutes (Paris: 60), -720..=840.
    pub utc_offset_min: i32,
    pub dst: DstRule,
    /// Seconds a vehicle may stay in a paid period before payment is checked, 0..=86 400.
    pub grace_s: u32,
    /// When parking is paid; empty: always free.
    pub paid_hours: Vec<PaidHours>,
}

impl ZoneRules {
    /// Checks the values the schema's CHECK constraints also check, with a message in terms of rules.
    pub fn validate(&self) -> Result<(), String> {
        if !(-720..=840).contains(&self.utc_offset_min) {
            return Err(format!(
                "UTC offset {} min is not between -720 and 840",
                self.utc_offset_min
            ));
        }
        if self.grace_s > 86_400 {
            return Err(format!("grace period {} s is longer than a day", self.grace_s));
        }
        for h in &self.paid_hours {
            if h.weekday > 6 {
                return Err(format!("weekday {} is not 0 (Monday) to 6 (Sunday)", h.weekday));
            }
            if h.start_min >= h.end_min || h.end_min > MINUTES_PER_DAY {
                return Err(format!(
                    "paid hours {}..{} of weekday {} are not a range within 0..1440 minutes",
                    h.start_min, h.end_min, h.weekday
                ));
            }
        }
        let mut sorted = self.paid_hours.clone();
        sorted.sort();
        if sorted
            .windows(2)
            .any(|w| w[0].weekday == w[1].weekday && w[0].start_min == w[1].start_min)
        {
            return Err("two ranges of paid hours start on the same day at the same minute".into());
        }
        Ok(())
    }

    /// Offset of local time from UTC at `unix_ms`, in milliseconds.
    pub fn offset_ms(&self, unix_ms: i64) -> i64 {
        let dst = match self.dst {
            DstRule::Eu if eu_summer_time(unix_ms) => 60,
            _ => 0,
        };
        (i64::from(self.utc_offset_min) + dst) * MS_PER_MINUTE
    }

    /// Local date `YYYY-MM-DD` at `unix_ms`: the day daily counters are kept under.
    pub fn local_date(&self, unix_ms: i64) -> String {
        date_string((unix_ms + self.offset_ms(unix_ms)).div_euclid(MS_PER_DAY))
    }

    /// The start (earliest `start_min`) of a range covering local minute `m` (counted from 1970-01-01 local),
    /// as a local minute; `None` when no range covers it.
    fn range_start(&self, m: i64) -> Option<i64> {
        let day = m.div_euclid(1440);
        let in_day = m.rem_euclid(1440);
        let wd = weekday(day);
        self.paid_hours
            .iter()
            .filter(|h| h.weekday == wd && i64::from(h.start_min) <= in_day && in_day < i64::from(h.end_min))
            .map(|h| day * 1440 + i64::from(h.start_min))
            .min()
    }

    /// Start of the paid period covering `unix_ms`, or `None` when parking is free then. A period that never
    /// ends (paid around the clock) starts at most 8 days before.
    pub fn paid_period_start(&self, unix_ms: i64) -> Option<i64> {
        let offset = self.offset_ms(unix_ms);
        let m = (unix_ms + offset).div_euclid(MS_PER_MINUTE);
        let mut start = self.range_start(m)?;
        let limit = m - 8 * 1440;
        while start > limit {
            match self.range_start(start - 1) {
                Some(earlier) => start = earlier,
                None => break,
            }
        }
        Some(start.max(limit) * MS_PER_MINUTE - offset)
    }

    /// The rules applied to a vehicle parked from `first_seen_unix_ms` and still there at `seen_unix_ms`
    /// (`first_seen <= seen`).
    pub fn check(&self, first_seen_unix_ms: i64, seen_unix_ms: i64) -> RuleCheck {
        let Some(period_start) = self.paid_period_start(seen_unix_ms) else {
            return RuleCheck::Free;
        };
        let since = first_seen_unix_ms.max(period_start);
        if seen_unix_ms - since < i64::from(self.grace_s) * 1000 {
            RuleCheck::WithinGrace
        } else {
            RuleCheck::Chargeable { since_unix_ms: since }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::time::parse_rfc3339;
    use super::*;

    fn t(s: &str) -> i64 {
        parse_rfc3339(s).unwrap()
    }

    /// Paris: +01:00 with EU summer time; Monday to Saturday 09:00-12:00 and 14:00-19:00; 15 minutes of grace.
    fn paris() -> ZoneRules {
        let mut paid_hours = PaidHours::days(0..=5, 9 * 60, 12 * 60);
        paid_hours.extend(PaidHours::days(0..=5, 14 * 60, 19 * 60));
        ZoneRules {
            utc_offset_min: 60,
            dst: DstRule::Eu,
            grace_s: 15 * 60,
            paid_hours,
        }
    }

    #[test]
    fn paid_hours_in_local_time() {
        let z = paris();
        // Wednesday 2024-05-15, summer time (+02:00).
        assert_eq!(z.paid_period_start(t("2024-05-15T08:59:59+02:00")), None);
        assert_eq!(
            z.paid_period_start(t("2024-05-15T09:00:00+02:00")),
            Some(t("2024-05-15T09:00:00+02:00"))
        );
        assert_eq!(
            z.paid_period_start(t("2024-05-15T11:59:59+02:00")),
            Some(t("2024-05-15T09:00:00+02:00"))
        );
        assert_eq!(z.paid_period_start(t("2024-05-15T12:00:00+02:00")), None); // lunch break
        assert_eq!(
            z.paid_period_start(t("2024-05-15T18:30:00+02:00")),
            Some(t("2024-05-15T14:00:00+02:00"))
        );
        // The same wall-clock hours in winter (+01:00).
        assert_eq!(z.paid_period_start(t("2024-01-17T08:30:00+01:00")), None);
        assert_eq!(
            z.paid_period_start(t("2024-01-17T09:30:00+01:00")),
            Some(t("2024-01-17T09:00:00+01:00"))
        );
        // Sunday: free.
        assert_eq!(z.paid_period_start(t("2024-05-19T10:00:00+02:00")), None);
        assert_eq!(z.local_date(t("2024-05-15T23:30:00Z")), "2024-05-16");
    }

    #[test]
    fn grace_counts_from_the_later_of_arrival_and_period_start() {
        let z = paris();
        let nine = t("2024-05-15T09:00:00+02:00");
        let min = MS_PER_MINUTE;
        // Arrived 08:50: chargeable from 09:15.
        assert_eq!(z.check(nine - 10 * min, nine + 14 * min), RuleCheck::WithinGrace);
        assert_eq!(
            z.check(nine - 10 * min, nine + 15 * min),
            RuleCheck::Chargeable { since_unix_ms: nine }
        );
        // Arrived 10:00: chargeable from 10:15.
        assert_eq!(z.check(nine + 60 * min, nine + 74 * min), RuleCheck::WithinGrace);
        assert_eq!(
            z.check(nine + 60 * min, nine + 75 * min),
            RuleCheck::Chargeable {
                since_unix_ms: nine + 60 * min
            }
        );
        // Outside paid hours nothing is checked, however long the car stays.
        assert_eq!(z.check(nine - 600 * min, nine - min), RuleCheck::Free);
    }

    #[test]
    fn adjacent_ranges_form_one_period() {
        let z = ZoneRules {
            utc_offset_min: 0,
            dst: DstRule::None,
            grace_s: 0,
            paid_hours: vec![
                PaidHours {
                    weekday: 0,
                    start_min: 22 * 60,
                    end_min: 1440,
                },
                PaidHours {
                    weekday: 1,
                    start_min: 0,
                    end_min: 120,
                },
                PaidHours {
                    weekday: 1,
                    start_min: 60,
                    end_min: 180,
                }, // overlaps
            ],
        };
        // Tuesday 2024-05-14 02:30 UTC belongs to the period that began Monday 22:00.
        assert_eq!(
            z.paid_period_start(t("2024-05-14T02:30:00Z")),
            Some(t("2024-05-13T22:00:00Z"))
        );
        // Around the clock: the period start is clamped 8 days back.
        let always = ZoneRules {
            paid_hours: PaidHours::days(0..=6, 0, 1440),
            ..z
        };
        let now = t("2024-05-14T02:30:00Z");
        let start = always.paid_period_start(now).unwrap();
        assert!(start <= now - 7 * MS_PER_DAY, "{start}");
    }

    #[test]
    fn paid_hours_from_text() {
        assert_eq!(
            PaidHours::parse(" Mon-SAT  09:00-19:00 ").unwrap(),
            PaidHours::days(0..=5, 540, 1140)
        );
        assert_eq!(
            PaidHours::parse("mon-sun 00:00-24:00").unwrap(),
            PaidHours::days(0..=6, 0, 1440)
        );
        let mut wrap = PaidHours::days(0..=0, 480, 720);
        wrap.extend(PaidHours::days(2..=2, 480, 720));
        wrap.extend(PaidHours::days(5..=6, 480, 720));
        assert_eq!(PaidHours::parse("sat-mon,wed,mon 8:00-12:00").unwrap(), wrap);
        for bad in [
            "",
            "mon",
            "mon 09:00",
            "mon 09:00-19:00 extra",
            "lun 09:00-19:00",
            "mon 19:00-09:00",
            "mon 09:00-09:00",
            "mon 24:00-24:00",
            "mon 09:60-10:00",
            "mon 9h-10h",
            "mon 09:00-24:01",
            "mon- 09:00-10:00",
        ] {
            assert!(PaidHours::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn validation() {
        assert!(paris().validate().is_ok());
        let bad = |f: fn(&mut ZoneRules)| {
            let mut z = paris();
            f(&mut z);
            z.validate().is_err()
        };
        assert!(bad(|z| z.utc_offset_min = 900));
        assert!(bad(|z| z.grace_s = 100_000));
        assert!(bad(|z| z.paid_hours[0].weekday = 7));
        assert!(bad(|z| z.paid_hours[0].end_min = 1441));
        assert!(bad(|z| z.paid_hours[0].start_min = z.paid_hours[0].end_min));
        assert!(bad(|z| z.paid_hours.push(z.paid_hours[0])));
    }
}
