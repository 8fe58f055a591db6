//! When a rule is active: weekly windows of local time.
//!
//! ```toml
//! [[rule]]
//! id = "yard-at-night"
//! type = "intrusion"
//! zones = ["yard"]
//! schedule = { timezone = "+01:00", windows = [
//!   { days = ["mon", "tue", "wed", "thu", "fri"], start = "19:00", end = "07:00" },  # overnight: to 07:00 next day
//!   { days = ["sat", "sun"], start = "00:00", end = "24:00" },                       # whole days
//! ] }
//! ```
//!
//! A window opens on each of its `days` at `start` and closes at `end` the same day, or the next day when `end` is
//! not after `start` (a window crossing midnight belongs to the day it opens on: `fri 22:00-06:00` runs from Friday
//! 22:00 to Saturday 06:00). `start` is included, `end` excluded.
//!
//! Deterministic: the engine does not read a clock. Each frame carries its wall-clock time ([`WallClock`]: a UTC
//! instant and the host's local offset at that instant, which the caller computes); a schedule in `"local"` time
//! uses that offset (daylight saving included), one with a fixed offset (`"+01:00"`, `"UTC"`) ignores it. A frame
//! without a wall-clock time is outside every schedule: a scheduled rule never runs on time it cannot place.
//!
//! Outside its schedule a rule sees nothing: it reports no condition (events already started end through the
//! lifecycle, `end_after_s` later), and when its schedule opens again it starts afresh, so nothing seen while it
//! was off counts (a person who arrived before 19:00 has loitered from 19:00, not from their arrival).

use serde::{Deserialize, Serialize};
use vigie_core::{Result, err};

/// `schedule` of a rule.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Time zone of the windows' times: `"local"` (the default: the host's time zone, daylight saving included),
    /// or a fixed offset from UTC: `"+01:00"`, `"-05:30"`, `"UTC"`.
    #[serde(default = "local")]
    pub timezone: String,
    /// The weekly windows in which the rule is active (at least one).
    pub windows: Vec<WindowConfig>,
}

/// One weekly window of a schedule.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Days the window opens on: `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun` (or the full English names, any
    /// case). Default: every day.
    pub days: Option<Vec<String>>,
    /// Opening time, `"HH:MM"` (00:00 to 23:59), included.
    pub start: String,
    /// Closing time, `"HH:MM"` (00:00 to 24:00), excluded; not after `start`: the next day.
    pub end: String,
}

fn local() -> String {
    "local".into()
}

/// The wall-clock time of a frame, as the caller knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WallClock {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub unix_ms: i64,
    /// Offset of the host's local time from UTC at that instant, in seconds (3600 in winter in Paris, 7200 in
    /// summer), for schedules in `"local"` time.
    pub local_offset_s: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Zone {
    Local,
    Fixed(i32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    /// Monday = 0.
    days: [bool; 7],
    start_s: u32,
    end_s: u32,
}

/// A checked schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    zone: Zone,
    windows: Vec<Window>,
}

const DAY_S: i64 = 86_400;
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl Schedule {
    /// Checks `cfg`; an error names what is wrong (the caller adds the rule).
    pub fn new(cfg: &ScheduleConfig) -> Result<Schedule> {
        let zone = parse_zone(&cfg.timezone)?;
        if cfg.windows.is_empty() {
            return Err(err!(
                Config,
                "schedule has no window: the rule would never run (set enabled = false instead)"
            ));
        }
        let mut windows = Vec::with_capacity(cfg.windows.len());
        for (i, w) in cfg.windows.iter().enumerate() {
            let ctx = |msg: String| err!(Config, "schedule window {}: {msg}", i + 1);
            let mut days = [false; 7];
            match &w.days {
                None => days = [true; 7],
                Some(list) if list.is_empty() => {
                    return Err(ctx("`days` is empty (leave it out for every day)".into()));
                }
                Some(list) => {
                    for d in list {
                        let l = d.to_ascii_lowercase();
                        let Some(k) = DAYS.iter().zip(DAY_NAMES).position(|(a, b)| l == *a || l == b) else {
                            return Err(ctx(format!("unknown day {d:?} (mon, tue, wed, thu, fri, sat, sun)")));
                        };
                        days[k] = true;
                    }
                }
            }
            let start_s = parse_time(&w.start, false).map_err(|m| ctx(format!("start {:?}: {m}", w.start)))?;
            let end_s = parse_time(&w.end, true).map_err(|m| ctx(format!("end {:?}: {m}", w.end)))?;
            if start_s == end_s {
                return Err(ctx(format!(
                    "start and end are both {:?}: an empty window (00:00 to 24:00 is a whole day)",
                    w.start
                )));
            }
            windows.push(Window { days, start_s, end_s });
        }
        Ok(Schedule { zone, windows })
    }

    /// Whether the rule is active at `wall`; never without a wall-clock time.
    pub fn is_active(&self, wall: Option<WallClock>) -> bool {
        let Some(w) = wall else { return false };
        let offset = match self.zone {
            Zone::Local => w.local_offset_s,
            Zone::Fixed(s) => s,
        };
        let local_s = w.unix_ms.div_euclid(1000) + offset as i64;
        let day = local_s.div_euclid(DAY_S);
        let sod = local_s.rem_euclid(DAY_S) as u32;
        // 1970-01-01 was a Thursday (index 3, Monday = 0).
        let dow = (day + 3).rem_euclid(7) as usize;
        let yesterday = (dow + 6) % 7;
        self.windows.iter().any(|win| {
            if win.start_s < win.end_s {
                win.days[dow] && (win.start_s..win.end_s).contains(&sod)
            } else {
                (win.days[dow] && sod >= win.start_s) || (win.days[yesterday] && sod < win.end_s)
            }
        })
    }
}

/// `"local"`, `"UTC"`/`"Z"`, or `±HH:MM` (at most 14 hours).
fn parse_zone(s: &str) -> Result<Zone> {
    let bad = || {
        err!(
            Config,
            "schedule timezone {s:?}: expected \"local\", \"UTC\" or an offset like \"+01:00\" or \"-05:30\""
        )
    };
    match s {
        "local" => return Ok(Zone::Local),
        "UTC" | "utc" | "Z" => return Ok(Zone::Fixed(0)),
        _ => {}
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = hh_mm(rest).ok_or_else(bad)?;
    if h > 14 || m > 59 || (h == 14 && m > 0) {
        return Err(bad());
    }
    Ok(Zone::Fixed(sign * (h as i32 * 3600 + m as i32 * 60)))
}

/// `"HH:MM"` → seconds of the day; 24:00 only when `end`.
fn parse_time(s: &str, end: bool) -> std::result::Result<u32, String> {
    let (h, m) = hh_mm(s).ok_or_else(|| "not a time of day, expected \"HH:MM\"".to_string())?;
    if m > 59 || h > 24 || (h == 24 && (m > 0 || !end)) {
        return Err(format!(
            "not a time of day (00:00 to {})",
            if end { "24:00" } else { "23:59" }
        ));
    }
    Ok(h * 3600 + m * 60)
}

/// Two groups of one or two digits around a colon (`7:05`, `07:05`).
fn hh_mm(s: &str) -> Option<(u32, u32)> {
    let (h, m) = s.split_once(':')?;
    let digits = |p: &str, max_len: usize| {
        (!p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    Some((digits(h, 2)?, if m.len() == 2 { digits(m, 2)? } else { return None }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(tz: &str, windows: &[(Option<&[&str]>, &str, &str)]) -> Result<Schedule> {
        Schedule::new(&ScheduleConfig {
            timezone: tz.into(),
            windows: windows
                .iter()
                .map(|(d, s, e)| WindowConfig {
                    days: d.map(|d| d.iter().map(|x| x.to_string()).collect()),
                    start: s.to_string(),
                    end: e.to_string(),
                })
                .collect(),
        })
    }

    /// 2026-03-02 is a Monday. UTC wall clock at that day + `day` days, `h`:`m`.
    fn at(day: i64, h: i64, m: i64) -> Option<WallClock> {
        const MON_2026_03_02: i64 = 1_772_409_600; // 2026-03-02T00:00:00Z
        Some(WallClock {
            unix_ms: (MON_2026_03_02 + day * DAY_S + h * 3600 + m * 60) * 1000,
            local_offset_s: 0,
        })
    }

    #[test]
    fn the_reference_day_is_a_monday() {
        // Day index of 2026-03-02: 20 514 days after 1970-01-01 (a Thursday).
        assert_eq!(1_772_409_600 / DAY_S, 20_514);
        assert_eq!((20_514 + 3) % 7, 0);
    }

    #[test]
    fn a_day_window_with_its_bounds() {
        let s = sched("UTC", &[(Some(&["mon", "Wednesday"]), "08:30", "17:00")]).unwrap();
        assert!(!s.is_active(at(0, 8, 29)));
        assert!(s.is_active(at(0, 8, 30)), "start is included");
        assert!(s.is_active(at(0, 16, 59)));
        assert!(!s.is_active(at(0, 17, 0)), "end is excluded");
        assert!(!s.is_active(at(1, 12, 0)), "not on tuesday");
        assert!(s.is_active(at(2, 12, 0)), "wednesday, by its full name");
        assert!(s.is_active(at(7, 12, 0)), "next monday");
        assert!(!s.is_active(None), "no wall clock: never");
    }

    #[test]
    fn a_window_crossing_midnight_belongs_to_the_day_it_opens() {
        // Friday 22:00 to Saturday 06:00 only.
        let s = sched("UTC", &[(Some(&["fri"]), "22:00", "06:00")]).unwrap();
        assert!(!s.is_active(at(4, 21, 59)));
        assert!(s.is_active(at(4, 22, 0)));
        assert!(s.is_active(at(5, 0, 0)), "saturday just after midnight");
        assert!(s.is_active(at(5, 5, 59)));
        assert!(!s.is_active(at(5, 6, 0)));
        assert!(
            !s.is_active(at(5, 23, 0)),
            "saturday evening: the window opens on fridays only"
        );
        assert!(
            !s.is_active(at(4, 3, 0)),
            "friday early morning belongs to thursday's window: none"
        );
        // Every day (days left out), whole day.
        let all = sched("UTC", &[(None, "00:00", "24:00")]).unwrap();
        assert!((0..7).all(|d| all.is_active(at(d, 0, 0)) && all.is_active(at(d, 23, 59))));
    }

    #[test]
    fn time_zones_fixed_and_local() {
        // 09:00-10:00 at +01:00 is 08:00-09:00 UTC.
        let fixed = sched("+01:00", &[(None, "09:00", "10:00")]).unwrap();
        assert!(fixed.is_active(at(0, 8, 0)));
        assert!(!fixed.is_active(at(0, 9, 0)));
        // A negative offset moves the day too: Monday 23:30 UTC is Monday 18:30 at -05:00, Tuesday 04:30 at +05:00.
        let monday = sched("-05:00", &[(Some(&["mon"]), "18:00", "19:00")]).unwrap();
        assert!(monday.is_active(at(0, 23, 30)));
        let tuesday = sched("+05:00", &[(Some(&["tue"]), "04:00", "05:00")]).unwrap();
        assert!(tuesday.is_active(at(0, 23, 30)));
        // "local" takes the offset given with the frame (summer time in Paris: +02:00).
        let local = sched("local", &[(None, "09:00", "10:00")]).unwrap();
        let mut w = at(0, 7, 30).unwrap();
        assert!(!local.is_active(Some(w)), "07:30 UTC at offset 0");
        w.local_offset_s = 7200;
        assert!(local.is_active(Some(w)), "09:30 local");
        // Before 1970 too (negative instants).
        let s = sched("UTC", &[(Some(&["wed"]), "00:00", "01:00")]).unwrap();
        let wed_1969_12_31 = WallClock {
            unix_ms: -DAY_S * 1000 + 60_000,
            local_offset_s: 0,
        };
        assert!(s.is_active(Some(wed_1969_12_31)));
    }

    #[test]
    fn bad_schedules_are_errors_naming_the_value() {
        for (tz, w, needle) in [
            ("CET", (None, "08:00", "09:00"), "CET"),
            ("+15:00", (None, "08:00", "09:00"), "+15:00"),
            ("local", (Some(&["mon", "funday"][..]), "08:00", "09:00"), "funday"),
            ("local", (Some(&[][..]), "08:00", "09:00"), "days"),
            ("local", (None, "8h", "09:00"), "8h"),
            ("local", (None, "24:00", "09:00"), "24:00"),
            ("local", (None, "08:60", "09:00"), "08:60"),
            ("local", (None, "08:00", "25:00"), "25:00"),
            ("local", (None, "08:00", "9:0"), "9:0"),
            ("local", (None, "08:00", "08:00"), "empty window"),
            ("local", (None, "-1:00", "08:00"), "-1:00"),
        ] {
            let e = sched(tz, &[w]).expect_err(needle);
            assert_eq!(e.kind(), vigie_core::ErrorKind::Config);
            assert!(e.to_string().contains(needle), "{needle} in {e}");
        }
        assert!(sched("local", &[]).unwrap_err().to_string().contains("no window"));
        // Accepted forms.
        for t in ["7:05", "07:05", "23:59"] {
            sched("Z", &[(None, t, "24:00")]).unwrap_or_else(|e| panic!("{t}: {e}"));
        }
    }
}
