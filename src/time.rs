//! Minimal UTC time handling: the ISO 8601 timestamps Claude Code writes
//! (`2026-01-21T06:20:33.873Z`) to milliseconds since the epoch and back to days.
//!
//! Days are UTC days; the report says so. A full date-time crate is not needed for this.

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type EpochMs = i64;

/// A time that may be missing, in 8 bytes where `Option<EpochMs>` takes 16: every record a
/// history holds carries one or more, and they are held until the analysis has made its
/// chains. It holds
/// every time but `i64::MIN` ms (292 million years before 1970, which no reader makes: they
/// keep [`PLAUSIBLE`] times only), which reads back as none.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MaybeMs(Option<std::num::NonZeroI64>);

impl MaybeMs {
    pub const NONE: MaybeMs = MaybeMs(None);

    pub fn new(t: Option<EpochMs>) -> Self {
        MaybeMs(t.and_then(|t| std::num::NonZeroI64::new(t ^ i64::MIN)))
    }

    pub fn get(self) -> Option<EpochMs> {
        self.0.map(|t| t.get() ^ i64::MIN)
    }
}

impl From<Option<EpochMs>> for MaybeMs {
    fn from(t: Option<EpochMs>) -> Self {
        MaybeMs::new(t)
    }
}

/// Shown as the `Option` it stands for.
impl std::fmt::Debug for MaybeMs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// Milliseconds in a UTC day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// The times a Claude Code event can have: from 2020-01-01 to before 2100-01-01 (UTC). A
/// record dated outside (year 0000, 9999, 1969) is corrupt: the readers leave it out and
/// count it, transcripts and telemetry alike.
pub const PLAUSIBLE: std::ops::Range<EpochMs> = 1_577_836_800_000..4_102_444_800_000;

/// Days since the epoch of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn num(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |acc, &b| acc * 10 + i64::from(b - b'0')))
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Reject dates like 2026-02-31 that roll over into the next month.
    (civil_from_days(days) == (y, m as u32, d as u32)).then_some(days)
}

/// Parses an ISO 8601 timestamp with a `Z` or `±HH:MM` suffix and optional fraction.
///
/// A leap second (`23:59:60`, which ISO 8601 allows) is read as the last second of its
/// minute (`:59`, its fraction kept), so that it stays on its day: JavaScript's `Date` has no
/// leap seconds (Claude Code never writes one), and a roll-over into the next minute would
/// move an event written at the end of a day onto the next.
pub fn parse_timestamp(s: &str) -> Option<EpochMs> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let days = parse_date(s.get(0..10)?)?;
    let (h, mi, sec) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let sec = sec.min(59);
    let mut rest = &b[19..];
    let mut ms = 0i64;
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let frac = &rest[1..1 + digits];
        let mut first3 = [b'0'; 3];
        for (d, &f) in first3.iter_mut().zip(frac) {
            *d = f;
        }
        ms = num(&first3)?;
        rest = &rest[1 + digits..];
    }
    let offset_min = match rest {
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            // As JavaScript's Date reads it: hours to 23, minutes to 59.
            let (oh, om) = (num(&[*h1, *h2])?, num(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let v = oh * 60 + om;
            if *sign == b'+' { v } else { -v }
        }
        _ => return None,
    };
    Some(days * MS_PER_DAY + ((h * 60 + mi - offset_min) * 60 + sec) * 1000 + ms)
}

/// The UTC day (`YYYY-MM-DD`) of an instant.
pub fn day_of(t: EpochMs) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The earliest and the latest of `times` (`None`: no times).
pub fn span(times: impl Iterator<Item = EpochMs>) -> Option<(EpochMs, EpochMs)> {
    times.fold(None, |s, t| Some(s.map_or((t, t), |(lo, hi): (EpochMs, EpochMs)| (lo.min(t), hi.max(t)))))
}

/// Of `(time, item)` pairs sorted by time, the item nearest `t`, if one lies within `within`
/// of it.
pub fn nearest<T>(sorted: &[(EpochMs, T)], t: EpochMs, within: i64) -> Option<&T> {
    let k = sorted.partition_point(|(at, _)| *at < t);
    [k.checked_sub(1), Some(k)]
        .into_iter()
        .flatten()
        .filter_map(|i| sorted.get(i))
        .filter(|(at, _)| (at - t).abs() <= within)
        .min_by_key(|(at, _)| (at - t).abs())
        .map(|(_, item)| item)
}

/// The UTC instant as Claude Code writes it: `2026-01-21T06:20:33.873Z`.
pub fn iso_timestamp(t: EpochMs) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(MS_PER_DAY));
    let ms = t.rem_euclid(MS_PER_DAY);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// The UTC instant as `YYYYMMDDTHHMMSS` (for file names that sort by time).
pub fn compact_stamp(t: EpochMs) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(MS_PER_DAY));
    let s = t.rem_euclid(MS_PER_DAY) / 1000;
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Now, in milliseconds since the epoch (0 if the clock is before 1970).
pub fn now() -> EpochMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| EpochMs::try_from(d.as_millis()).unwrap_or(EpochMs::MAX))
}

/// Start of a UTC day given as days since the epoch.
pub fn day_start(days: i64) -> EpochMs {
    days * MS_PER_DAY
}

/// The minute (since the epoch) an instant falls in.
pub fn minute_of(t: EpochMs) -> i64 {
    t.div_euclid(60_000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn span_by_hand() {
        assert_eq!(span(std::iter::empty()), None);
        assert_eq!(span([5].into_iter()), Some((5, 5)));
        assert_eq!(span([3, -1, 7, 0].into_iter()), Some((-1, 7)));
    }

    #[test]
    fn a_maybe_time_holds_every_time_a_reader_makes_in_8_bytes() {
        assert_eq!(std::mem::size_of::<MaybeMs>(), 8);
        for t in [None, Some(0), Some(-1), Some(1), Some(1_780_000_000_000), Some(i64::MAX), Some(i64::MIN + 1)] {
            assert_eq!(MaybeMs::new(t).get(), t);
            assert_eq!(format!("{:?}", MaybeMs::new(t)), format!("{t:?}"));
        }
        assert_eq!(MaybeMs::new(Some(i64::MIN)).get(), None, "the one time it cannot hold");
        assert_eq!(MaybeMs::default(), MaybeMs::NONE);
    }

    use super::*;

    #[test]
    fn nearest_within_a_window() {
        let v = [(10, 'a'), (20, 'b'), (40, 'c')];
        assert_eq!(nearest(&v, 14, 5), Some(&'a'));
        assert_eq!(nearest(&v, 16, 5), Some(&'b'));
        assert_eq!(nearest(&v, 30, 5), None);
        assert_eq!(nearest(&v, 100, 60), Some(&'c'));
        assert_eq!(nearest::<char>(&[], 0, 1), None);
    }

    #[test]
    fn iso_timestamp_round_trips() {
        for s in ["1970-01-01T00:00:00.000Z", "2026-01-21T06:20:33.873Z", "2024-02-29T23:59:59.999Z"] {
            assert_eq!(iso_timestamp(parse_timestamp(s).unwrap()), s);
        }
    }

    #[test]
    fn compact_stamp_of_known_instants() {
        assert_eq!(compact_stamp(0), "19700101T000000");
        // 2026-11-25T10:15:00.999Z
        let t = parse_timestamp("2026-11-25T10:15:00.999Z").unwrap();
        assert_eq!(compact_stamp(t), "20261125T101500");
        assert_eq!(compact_stamp(t + 3_599_001), "20261125T111500");
    }

    #[test]
    fn epoch_and_known_instants() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("1970-01-02T00:00:00.001Z"), Some(86_400_001));
        // 2026-01-21T06:20:33.873Z: 20,474 days after the epoch (checked with `date -d`).
        assert_eq!(parse_timestamp("2026-01-21T06:20:33.873Z"), Some(1_768_976_433_873));
        assert_eq!(parse_timestamp("2026-01-21T08:20:33.873+02:00"), Some(1_768_976_433_873));
        // The widest offsets JavaScript's Date takes (node: 1768890093000, 1769062773000).
        assert_eq!(parse_timestamp("2026-01-21T06:20:33+23:59"), Some(1_768_890_093_000));
        assert_eq!(parse_timestamp("2026-01-21T06:20:33-23:59"), Some(1_769_062_773_000));
        assert_eq!(parse_timestamp("2026-01-21T06:20:33.8Z"), Some(1_768_976_433_800));
    }

    #[test]
    fn a_leap_second_is_the_last_second_of_its_minute() {
        assert_eq!(parse_timestamp("2026-11-01T23:59:60.500Z"), parse_timestamp("2026-11-01T23:59:59.500Z"));
        assert_eq!(day_of(parse_timestamp("2026-12-31T23:59:60Z").unwrap()), "2026-12-31");
        assert_eq!(parse_timestamp("2026-11-01T23:59:61Z"), None);
        // Years no Claude Code event has parse, and are not plausible.
        for s in ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z", "2100-01-01T00:00:00Z"] {
            assert!(!PLAUSIBLE.contains(&parse_timestamp(s).unwrap()), "{s}");
        }
        for s in ["2020-01-01T00:00:00Z", "2099-12-31T23:59:59.999Z"] {
            assert!(PLAUSIBLE.contains(&parse_timestamp(s).unwrap()), "{s}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "2026-01-21",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-21T06:20:33",
            "x026-01-21T06:20:33Z",
            "2026-01-21T06:20:33.Z",
            // Offsets JavaScript's Date refuses (checked with node).
            "2026-01-21T06:20:33+24:00",
            "2026-01-21T06:20:33+99:00",
            "2026-01-21T06:20:33-05:60",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
    }

    #[test]
    fn days_round_trip() {
        assert_eq!(day_of(1_768_976_433_873), "2026-01-21");
        assert_eq!(day_of(-1), "1969-12-31");
        assert_eq!(parse_date("2024-02-29").map(day_start).map(day_of).as_deref(), Some("2024-02-29"));
        assert_eq!(parse_date("2023-02-29"), None);
    }

    #[test]
    fn minutes() {
        assert_eq!(minute_of(59_999), 0);
        assert_eq!(minute_of(60_000), 1);
        assert_eq!(minute_of(-1), -1);
    }
}
