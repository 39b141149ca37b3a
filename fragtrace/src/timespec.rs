//! Time on the command line: durations (`--duration 10m`) and points in a recording
//! (`--since 5m`, `--until 2026-11-27T10:00:00Z`).
//!
//! Parsed by hand, exactly (integer nanoseconds, no floats), and without a date crate: the
//! only calendar arithmetic needed is civil date → days since 1970, which is one formula.

use std::{str::FromStr, time::Duration};

use thiserror::Error;

/// Appended to every duration error so the user sees what would have worked.
const DURATION_HINT: &str = "use a number with ms, s, m or h, like 30s, 5m, 1h30m";
const TIME_HINT: &str = "use an offset from the start like 30s, +5m or 1h30m, \
                         or a time like 2026-11-27T10:00:00Z or 2026-11-27 10:00:00+01:00";

/// 100 Julian years. Anything longer is a typo (`10000h` for `10h`), not a plan.
const MAX_DURATION_NS: u128 = 100 * 36_525 * 864 * 1_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TimeSpecError {
    #[error("{0:?} is not a duration: {DURATION_HINT}")]
    NotADuration(String),
    #[error("{0:?} is not a time: {TIME_HINT}")]
    NotATime(String),
    #[error("{0:?} is negative: {DURATION_HINT}")]
    Negative(String),
    #[error("{0:?} is zero: {DURATION_HINT}")]
    Zero(String),
    #[error("{0:?} is longer than 100 years: {DURATION_HINT}")]
    TooLarge(String),
    #[error("{0:?} repeats a unit or puts a smaller one first: write the largest unit first, like 1h30m")]
    UnitOrder(String),
    #[error("{text:?} is not a valid time: {reason} (use a time like 2026-11-27T10:00:00Z)")]
    InvalidTime { text: String, reason: String },
    #[error("{0:?} is outside 1970-2554, the range of Unix nanoseconds")]
    OutOfRange(String),
}

/// A point in a recording: an offset from its start, or an absolute wall-clock time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeBound {
    Offset(Duration),
    Wall { unix_ns: u64 },
}

impl TimeBound {
    /// Accepts:
    /// - a duration, optionally prefixed with `+` (`30s`, `+5m`, `1h30m`, `0`): an offset from
    ///   the start of the recording; zero is the start itself;
    /// - an RFC 3339 time, `2026-11-27T10:00:00Z`, with optional fractional seconds and a `Z` or
    ///   `±HH:MM` zone. Leniencies: a space may replace the `T`, the seconds or the whole time of
    ///   day may be left out, and **a time without a zone is UTC** (never the local zone: a
    ///   recording is often read on another machine than the one that made it).
    pub fn parse(text: &str) -> Result<Self, TimeSpecError> {
        let trimmed = text.trim();
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        if looks_like_date(body) && body.len() == trimmed.len() {
            return parse_rfc3339(trimmed).map(|unix_ns| TimeBound::Wall { unix_ns });
        }
        match parse_nanos(body) {
            Ok(ns) if ns > MAX_DURATION_NS => Err(TimeSpecError::TooLarge(text.to_string())),
            // The bound checked above makes the cast lossless.
            Ok(ns) => Ok(TimeBound::Offset(Duration::from_nanos(ns as u64))),
            Err(Syntax::Negative) => Err(TimeSpecError::Negative(text.to_string())),
            Err(Syntax::UnitOrder) => Err(TimeSpecError::UnitOrder(text.to_string())),
            Err(Syntax::Invalid) => Err(TimeSpecError::NotATime(text.to_string())),
        }
    }

    /// Unix-ns wall-clock instant for a recording that started at start_wall_ns.
    pub fn resolve(&self, start_wall_ns: u64) -> u64 {
        match *self {
            TimeBound::Offset(offset) => {
                start_wall_ns.saturating_add(u64::try_from(offset.as_nanos()).unwrap_or(u64::MAX))
            }
            TimeBound::Wall { unix_ns } => unix_ns,
        }
    }
}

impl FromStr for TimeBound {
    type Err = TimeSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// `500ms`, `10s`, `5m`, `2h`, `1.5s`, compounds with the largest unit first (`1h30m`,
/// `1m 30s`), or a plain number of seconds. Zero, negative and over-100-year durations are
/// errors.
pub fn parse_duration(text: &str) -> Result<Duration, TimeSpecError> {
    match parse_nanos(text.trim()) {
        Ok(0) => Err(TimeSpecError::Zero(text.to_string())),
        Ok(ns) if ns > MAX_DURATION_NS => Err(TimeSpecError::TooLarge(text.to_string())),
        Ok(ns) => Ok(Duration::from_nanos(ns as u64)),
        Err(Syntax::Negative) => Err(TimeSpecError::Negative(text.to_string())),
        Err(Syntax::UnitOrder) => Err(TimeSpecError::UnitOrder(text.to_string())),
        Err(Syntax::Invalid) => Err(TimeSpecError::NotADuration(text.to_string())),
    }
}

/// Why a duration did not parse; the caller turns it into an error naming its own input.
enum Syntax {
    Invalid,
    Negative,
    UnitOrder,
}

/// Units, largest first: a compound must follow this order.
const UNITS: [(&str, u128); 4] =
    [("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000)];

/// Nanoseconds in a duration, zero allowed. Saturates far above the 100-year limit instead of
/// overflowing, so the caller's range check sees it.
fn parse_nanos(text: &str) -> Result<u128, Syntax> {
    if text.starts_with('-') {
        return Err(Syntax::Negative);
    }
    let mut rest = text;
    let mut total: u128 = 0;
    // Index into UNITS of the last unit used: the next one must be strictly smaller.
    let mut last_unit: Option<usize> = None;
    loop {
        let (number, after) = take_number(rest).ok_or(Syntax::Invalid)?;
        let unit_len = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit_index = if unit.is_empty() {
            // A bare number means seconds, but only as the whole input: in `1m30` the `30`
            // is as likely to mean minutes as seconds.
            if last_unit.is_some() || !after.is_empty() {
                return Err(Syntax::Invalid);
            }
            2
        } else {
            UNITS.iter().position(|(name, _)| *name == unit).ok_or(Syntax::Invalid)?
        };
        if last_unit.is_some_and(|last| unit_index <= last) {
            return Err(Syntax::UnitOrder);
        }
        last_unit = Some(unit_index);
        total = total.saturating_add(number.nanos(UNITS[unit_index].1));
        rest = after.trim_start();
        if rest.is_empty() {
            return Ok(total);
        }
    }
}

/// `12`, `1.5`, `.5`: an integer part and up to 15 fraction digits (more is finer than a
/// nanosecond even in hours, so the rest are dropped).
struct Number {
    int: u128,
    frac: u128,
    frac_scale: u128,
}

impl Number {
    fn nanos(&self, unit_ns: u128) -> u128 {
        self.int.saturating_mul(unit_ns).saturating_add(self.frac * unit_ns / self.frac_scale)
    }
}

fn take_number(text: &str) -> Option<(Number, &str)> {
    let int_len = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (int_digits, rest) = text.split_at(int_len);
    let (frac_digits, rest) = match rest.strip_prefix('.') {
        Some(after_dot) => {
            let len = after_dot.find(|c: char| !c.is_ascii_digit()).unwrap_or(after_dot.len());
            after_dot.split_at(len)
        }
        None => ("", rest),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    // Saturate rather than fail: an overlong number is "too large", not "not a number".
    let int = int_digits.bytes().fold(0u128, |n, d| n.saturating_mul(10).saturating_add(u128::from(d - b'0')));
    let mut number = Number { int, frac: 0, frac_scale: 1 };
    for d in frac_digits.bytes().take(15) {
        number.frac = number.frac * 10 + u128::from(d - b'0');
        number.frac_scale *= 10;
    }
    Some((number, rest))
}

/// `YYYY-` at the start: the one shape no duration has.
fn looks_like_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// Unix nanoseconds for an RFC 3339 time (with the leniencies documented on
/// [`TimeBound::parse`]).
fn parse_rfc3339(text: &str) -> Result<u64, TimeSpecError> {
    let invalid = |reason: String| TimeSpecError::InvalidTime { text: text.to_string(), reason };
    let not_a_time = || TimeSpecError::NotATime(text.to_string());
    let mut c = Cursor(text.as_bytes());

    let year = c.digits(4).ok_or_else(not_a_time)?;
    c.expect(b'-').ok_or_else(not_a_time)?;
    let month = c.digits(2).ok_or_else(not_a_time)?;
    c.expect(b'-').ok_or_else(not_a_time)?;
    let day = c.digits(2).ok_or_else(not_a_time)?;
    if !(1..=12).contains(&month) {
        return Err(invalid(format!("month {month} is not 1-12")));
    }
    let month_days = days_in_month(year, month);
    if !(1..=month_days).contains(&day) {
        return Err(invalid(format!("day {day} does not exist in {year}-{month:02}, which has {month_days} days")));
    }

    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0);
    if c.expect_any(b"Tt ").is_some() {
        hour = c.digits(2).ok_or_else(not_a_time)?;
        c.expect(b':').ok_or_else(not_a_time)?;
        minute = c.digits(2).ok_or_else(not_a_time)?;
        if c.expect(b':').is_some() {
            second = c.digits(2).ok_or_else(not_a_time)?;
            if c.expect(b'.').is_some() {
                nanos = c.fraction_nanos().ok_or_else(not_a_time)?;
            }
        }
    }
    if hour > 23 {
        return Err(invalid(format!("hour {hour} is not 0-23")));
    }
    if minute > 59 {
        return Err(invalid(format!("minute {minute} is not 0-59")));
    }
    if second > 59 {
        // RFC 3339 allows 60 for a leap second; Unix time has no such second.
        return Err(invalid(format!("second {second} is not 0-59")));
    }

    // Seconds east of UTC: local time minus this offset is UTC.
    let offset_s: i64 = match c.next() {
        None => 0,
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let oh = c.digits(2).ok_or_else(not_a_time)?;
            c.expect(b':').ok_or_else(not_a_time)?;
            let om = c.digits(2).ok_or_else(not_a_time)?;
            if oh > 23 || om > 59 {
                return Err(invalid(format!("zone offset {oh:02}:{om:02} is not within ±23:59")));
            }
            let s = i64::from(oh * 3600 + om * 60);
            if sign == b'+' { s } else { -s }
        }
        Some(_) => return Err(not_a_time()),
    };
    if !c.0.is_empty() {
        return Err(not_a_time());
    }

    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_s;
    let ns = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    u64::try_from(ns).map_err(|_| TimeSpecError::OutOfRange(text.to_string()))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`):
/// years are shifted to start in March so the leap day is the last day of the year.
/// `2026-11-27T10:02:03Z` for a Unix time in nanoseconds (UTC, whole seconds).
pub fn format_utc(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // civil_from_days (Howard Hinnant), the inverse of days_from_civil below.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let march_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * march_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Byte cursor over ASCII input; every accessor returns `None` instead of indexing past the end.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.expect_any(&[byte])
    }

    fn expect_any(&mut self, bytes: &[u8]) -> Option<()> {
        if bytes.contains(self.0.first()?) {
            self.0 = &self.0[1..];
            return Some(());
        }
        None
    }

    /// Exactly `n` decimal digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let digits = self.0.get(..n)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = &self.0[n..];
        Some(digits.iter().fold(0, |v, d| v * 10 + u32::from(d - b'0')))
    }

    /// At least one digit after a `.`; digits past nanoseconds are dropped.
    fn fraction_nanos(&mut self) -> Option<u32> {
        let len = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let mut nanos = 0;
        for i in 0..9 {
            nanos = nanos * 10 + self.0.get(i).filter(|_| i < len).map_or(0, |d| u32::from(d - b'0'));
        }
        self.0 = &self.0[len..];
        Some(nanos)
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn formats_what_it_parses() {
        for text in ["1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2026-11-27T10:02:03Z", "2100-03-01T00:00:00Z"] {
            let TimeBound::Wall { unix_ns } = TimeBound::parse(text).unwrap() else { panic!("{text}") };
            assert_eq!(format_utc(unix_ns), text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// 2026-11-27T10:00:00Z, from `date -u -d 2026-11-27T10:00:00Z +%s`.
    const NOV27_10H: u64 = 1_795_773_600 * 1_000_000_000;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(secs(10)));
        assert_eq!(parse_duration("5m"), Ok(secs(300)));
        assert_eq!(parse_duration("2h"), Ok(secs(7200)));
        assert_eq!(parse_duration(" 3 "), Ok(secs(3)), "a plain number is seconds");
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0.1h"), Ok(secs(360)), "exact, no float rounding");
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
    }

    #[test]
    fn compound_durations_largest_unit_first() {
        assert_eq!(parse_duration("1m30s"), Ok(secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(secs(5400)));
        assert_eq!(parse_duration("1h 2m 3s 4ms"), Ok(Duration::from_millis(3_723_004)));
        assert_eq!(parse_duration("30s1m"), Err(TimeSpecError::UnitOrder("30s1m".into())));
        assert_eq!(parse_duration("1m1m"), Err(TimeSpecError::UnitOrder("1m1m".into())));
        assert_eq!(parse_duration("1m30"), Err(TimeSpecError::NotADuration("1m30".into())), "bare number must stand alone");
    }

    #[test]
    fn keeps_the_forms_the_cli_accepted() {
        // commands::parse_duration's test: same accepted and rejected inputs.
        assert_eq!(parse_duration("10s"), Ok(secs(10)));
        assert_eq!(parse_duration("5m"), Ok(secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("3"), Ok(secs(3)));
        for bad in ["", "x", "5y", "0", "-1s", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn duration_errors_name_the_input_and_show_examples() {
        let err = parse_duration("5y").unwrap_err();
        assert_eq!(err.to_string(), "\"5y\" is not a duration: use a number with ms, s, m or h, like 30s, 5m, 1h30m");
        for bad in ["", "   ", "s", ".", "1.2.3s", "NaN", "inf", "1e3", "5 y", "10 s x", "½s"] {
            assert_eq!(parse_duration(bad), Err(TimeSpecError::NotADuration(bad.into())), "{bad}");
        }
        assert_eq!(parse_duration("-1s"), Err(TimeSpecError::Negative("-1s".into())));
        assert_eq!(parse_duration("0"), Err(TimeSpecError::Zero("0".into())));
        assert_eq!(parse_duration("0.0000000001s"), Err(TimeSpecError::Zero("0.0000000001s".into())), "below 1ns");
        assert!(parse_duration("0s").unwrap_err().to_string().contains("like 30s"));
    }

    #[test]
    fn absurd_durations_are_rejected() {
        assert_eq!(parse_duration("876000h"), Ok(secs(876_000 * 3600)), "100 years of 365 days is fine");
        assert_eq!(parse_duration("877000h"), Err(TimeSpecError::TooLarge("877000h".into())));
        let huge = "99999999999999999999999999999999999999999999h";
        assert_eq!(parse_duration(huge), Err(TimeSpecError::TooLarge(huge.into())), "saturates, no overflow");
    }

    #[test]
    fn bounds_as_offsets() {
        assert_eq!(TimeBound::parse("30s"), Ok(TimeBound::Offset(secs(30))));
        assert_eq!(TimeBound::parse("+5m"), Ok(TimeBound::Offset(secs(300))));
        assert_eq!(TimeBound::parse("1h30m"), Ok(TimeBound::Offset(secs(5400))));
        assert_eq!(TimeBound::parse("0"), Ok(TimeBound::Offset(Duration::ZERO)), "the start itself");
        assert_eq!("90".parse::<TimeBound>(), Ok(TimeBound::Offset(secs(90))));
        assert_eq!(TimeBound::parse("-5m"), Err(TimeSpecError::Negative("-5m".into())));
        assert_eq!(TimeBound::parse("yesterday"), Err(TimeSpecError::NotATime("yesterday".into())));
        assert_eq!(TimeBound::parse("++5m"), Err(TimeSpecError::NotATime("++5m".into())));
        assert!(TimeBound::parse("").unwrap_err().to_string().contains("2026-11-27T10:00:00Z"));
    }

    #[test]
    fn bounds_as_rfc3339_times() {
        let wall = |unix_ns| Ok(TimeBound::Wall { unix_ns });
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00Z"), wall(NOV27_10H));
        assert_eq!(TimeBound::parse("2026-11-27t10:00:00z"), wall(NOV27_10H));
        assert_eq!(TimeBound::parse("2026-11-27 10:00:00"), wall(NOV27_10H), "no zone is UTC");
        assert_eq!(TimeBound::parse("2026-11-27T10:00"), wall(NOV27_10H), "seconds optional");
        assert_eq!(TimeBound::parse("2026-11-27"), wall(NOV27_10H - 10 * 3600 * 1_000_000_000), "midnight");
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00.25Z"), wall(NOV27_10H + 250_000_000));
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00.123456789123Z"), wall(NOV27_10H + 123_456_789));
        assert_eq!(TimeBound::parse("1970-01-01T00:00:00Z"), wall(0));
    }

    #[test]
    fn zone_offsets_are_east_of_utc() {
        // `date -u -d 2026-11-27T10:00:00+01:00 +%s` = 1795770000; -05:30 gives 1795793400.
        let wall = |s: u64| Ok(TimeBound::Wall { unix_ns: s * 1_000_000_000 });
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00+01:00"), wall(1_795_770_000));
        assert_eq!(TimeBound::parse("2026-11-27 10:00:00-05:30"), wall(1_795_793_400));
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00+00:00"), wall(1_795_773_600));
        assert!(matches!(TimeBound::parse("2026-11-27T10:00:00+24:00"), Err(TimeSpecError::InvalidTime { .. })));
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00+0100"), Err(TimeSpecError::NotATime("2026-11-27T10:00:00+0100".into())));
    }

    #[test]
    fn leap_days() {
        // `date -u -d 2024-02-29 +%s` = 1709164800; 2000 is a leap year (÷400), 2100 is not.
        assert_eq!(TimeBound::parse("2024-02-29T00:00:00Z"), Ok(TimeBound::Wall { unix_ns: 1_709_164_800 * 1_000_000_000 }));
        assert_eq!(TimeBound::parse("2000-03-01"), Ok(TimeBound::Wall { unix_ns: 951_868_800 * 1_000_000_000 }));
        assert!(TimeBound::parse("2000-02-29").is_ok());
        let err = TimeBound::parse("2100-02-29").unwrap_err();
        assert_eq!(err.to_string(), "\"2100-02-29\" is not a valid time: day 29 does not exist in 2100-02, which has 28 days (use a time like 2026-11-27T10:00:00Z)");
        assert!(TimeBound::parse("2023-02-29").is_err());
    }

    #[test]
    fn out_of_range_fields() {
        let reason = |text: &str| match TimeBound::parse(text) {
            Err(TimeSpecError::InvalidTime { reason, .. }) => reason,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(reason("2026-13-01"), "month 13 is not 1-12");
        assert_eq!(reason("2026-00-01"), "month 0 is not 1-12");
        assert_eq!(reason("2026-04-31"), "day 31 does not exist in 2026-04, which has 30 days");
        assert_eq!(reason("2026-04-00"), "day 0 does not exist in 2026-04, which has 30 days");
        assert_eq!(reason("2026-11-27T24:00:00Z"), "hour 24 is not 0-23");
        assert_eq!(reason("2026-11-27T10:60:00Z"), "minute 60 is not 0-59");
        assert_eq!(reason("2026-11-27T10:00:60Z"), "second 60 is not 0-59");
        for bad in ["2026-1-27", "2026-11-27T10", "2026-11-27T10:00:00.Z", "2026-11-27T10:00:00Zjunk", "2026-11-27X10:00", "2026-11-27T1é:00"] {
            assert_eq!(TimeBound::parse(bad), Err(TimeSpecError::NotATime(bad.into())), "{bad}");
        }
        assert_eq!(TimeBound::parse("1969-12-31T23:59:59Z"), Err(TimeSpecError::OutOfRange("1969-12-31T23:59:59Z".into())));
        assert_eq!(TimeBound::parse("9999-12-31"), Err(TimeSpecError::OutOfRange("9999-12-31".into())));
    }

    #[test]
    fn resolves_against_the_recording_start() {
        let start = NOV27_10H;
        assert_eq!(TimeBound::Offset(secs(90)).resolve(start), start + 90_000_000_000);
        assert_eq!(TimeBound::Offset(Duration::ZERO).resolve(start), start);
        assert_eq!(TimeBound::Offset(Duration::MAX).resolve(start), u64::MAX, "saturates");
        assert_eq!(TimeBound::Wall { unix_ns: 42 }.resolve(start), 42, "absolute times ignore the start");
        assert_eq!(TimeBound::parse("+1m").unwrap().resolve(start), start + 60_000_000_000);
    }
}
