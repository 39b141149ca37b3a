//! Time on the command line: durations (`--duration 10m`) and points in a recording
//! (`--since 5m`, `--until 2026-11-27T10:00:00Z`).
//!
//! A thin adapter over [`jiff`], which does the parsing and printing:
//! - durations are jiff's "friendly" format ([`SpanParser::parse_duration`]): `500ms`, `10s`,
//!   `5m`, `2h`, `1.5s`, compounds with the largest unit first (`1h30m`, `1m 30s`), long
//!   unit names (`5 mins`, `1 hour`), `µs`/`ns`, `HH:MM:SS`; exact (integer nanoseconds, no
//!   floats); at most 9 fraction digits;
//! - times are jiff's Temporal (RFC 3339 / RFC 9557) parser ([`Pieces`]);
//! - [`format_utc`] is [`Timestamp`]'s RFC 3339 display.
//!
//! What this module adds is what the CLI promised before jiff: a bare number is seconds
//! (`90`, `2.5`), a leading point is fine (`.5s`), a time without a zone is UTC, durations
//! are positive and under 100 years, times lie within Unix nanoseconds (1970-2554), and
//! every error names the input and the accepted forms.

use std::{str::FromStr, time::Duration};

use jiff::{
    SignedDuration, Timestamp,
    civil::Time,
    fmt::{friendly::SpanParser, temporal::Pieces},
    tz::Offset,
};
use thiserror::Error;

/// Appended to every duration error so the user sees what would have worked.
const DURATION_HINT: &str = "use a number with ms, s, m or h, largest unit first, like 30s, 5m, 1h30m";
const TIME_HINT: &str = "use an offset from the start like 30s, +5m or 1h30m, \
                         or a time like 2026-11-27T10:00:00Z or 2026-11-27 10:00:00+01:00";

/// 100 Julian years (36,525 days). Anything longer is a typo (`10000h` for `10h`), not a plan.
const MAX_DURATION: SignedDuration = SignedDuration::from_hours(36_525 * 24);

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
    /// Shaped like a date (`YYYY-…`) but not a valid one; `reason` is jiff's.
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
    ///   the start of the recording; zero is the start itself. `HH:MM:SS` is refused here: it
    ///   reads as a time of day as much as an offset;
    /// - a time starting `YYYY-`: RFC 3339 (`2026-11-27T10:00:00Z`, `±HH:MM` zones, fractional
    ///   seconds) with the leniencies of RFC 9557 as jiff reads it: a space may replace the
    ///   `T`, the seconds or the whole time of day may be left out, and **a time without a
    ///   zone is UTC** (never the local zone: a recording is often read on another machine
    ///   than the one that made it).
    pub fn parse(text: &str) -> Result<Self, TimeSpecError> {
        let trimmed = text.trim();
        if looks_like_date(trimmed) {
            return parse_time(trimmed, text).map(|unix_ns| TimeBound::Wall { unix_ns });
        }
        if trimmed.contains(':') {
            return Err(TimeSpecError::NotATime(text.to_string()));
        }
        checked(parse_friendly(trimmed), text, TimeSpecError::NotATime).map(TimeBound::Offset)
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

/// A positive duration under 100 years: see the module doc for the forms.
pub fn parse_duration(text: &str) -> Result<Duration, TimeSpecError> {
    match checked(parse_friendly(text.trim()), text, TimeSpecError::NotADuration)? {
        Duration::ZERO => Err(TimeSpecError::Zero(text.to_string())),
        duration => Ok(duration),
    }
}

/// jiff's friendly format, plus the two forms the CLI accepted before it: a bare number is
/// seconds (but only as the whole input: in `1m30` the `30` is as likely to mean minutes),
/// and a fraction needs no leading zero.
fn parse_friendly(text: &str) -> Result<SignedDuration, jiff::Error> {
    let zero = if text.starts_with('.') { "0" } else { "" };
    let unit = if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') { "s" } else { "" };
    SpanParser::new().parse_duration(format!("{zero}{text}{unit}"))
}

/// The range rules for a parsed duration (zero allowed); `not_a` names the syntax error.
fn checked(
    parsed: Result<SignedDuration, jiff::Error>,
    text: &str,
    not_a: fn(String) -> TimeSpecError,
) -> Result<Duration, TimeSpecError> {
    match parsed {
        Err(_) => Err(not_a(text.to_string())),
        // `-1s`, `1s ago`.
        Ok(d) if d.is_negative() => Err(TimeSpecError::Negative(text.to_string())),
        Ok(d) if d > MAX_DURATION => Err(TimeSpecError::TooLarge(text.to_string())),
        Ok(d) => Ok(d.unsigned_abs()),
    }
}

/// `YYYY-` at the start: the one shape no duration has.
fn looks_like_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// Unix nanoseconds for a time (see [`TimeBound::parse`]); `text` is the input as given, for
/// the error.
fn parse_time(trimmed: &str, text: &str) -> Result<u64, TimeSpecError> {
    let invalid = |reason: String| TimeSpecError::InvalidTime { text: text.to_string(), reason };
    let pieces = Pieces::parse(trimmed).map_err(|e| invalid(e.to_string()))?;
    let offset = match pieces.to_numeric_offset() {
        Some(offset) => offset,
        // Without a time zone database a name cannot be resolved, and UTC would be wrong.
        None if pieces.time_zone_annotation().is_some() => {
            return Err(invalid("a zone name needs an offset before it, like +01:00[Europe/Paris]".into()));
        }
        None => Offset::UTC,
    };
    let datetime = pieces.date().to_datetime(pieces.time().unwrap_or(Time::midnight()));
    let out_of_range = || TimeSpecError::OutOfRange(text.to_string());
    let timestamp = offset.to_timestamp(datetime).map_err(|_| out_of_range())?;
    u64::try_from(timestamp.as_nanosecond()).map_err(|_| out_of_range())
}

/// `2026-11-27T10:02:03Z` for a Unix time in nanoseconds (UTC, whole seconds).
pub fn format_utc(unix_ns: u64) -> String {
    // u64 nanoseconds end in 2554, well inside jiff's range (years -9999 to 9999).
    let seconds = (unix_ns / 1_000_000_000) as i64;
    Timestamp::from_second(seconds).expect("u64 nanoseconds are within jiff's range").to_string()
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
        assert_eq!(format_utc(1_795_773_723_999_999_999), "2026-11-27T10:02:03Z", "whole seconds, truncated");
        assert_eq!(format_utc(u64::MAX), "2554-07-21T23:34:33Z");
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
        assert_eq!(parse_duration(".5"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn jiff_friendly_forms_are_accepted_too() {
        assert_eq!(parse_duration("5 mins"), Ok(secs(300)));
        assert_eq!(parse_duration("1 hour, 30 minutes"), Ok(secs(5400)));
        assert_eq!(parse_duration("1:30:00"), Ok(secs(5400)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("+5m"), Ok(secs(300)));
    }

    #[test]
    fn compound_durations_largest_unit_first() {
        assert_eq!(parse_duration("1m30s"), Ok(secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(secs(5400)));
        assert_eq!(parse_duration("1h 2m 3s 4ms"), Ok(Duration::from_millis(3_723_004)));
        assert_eq!(parse_duration("30s1m"), Err(TimeSpecError::NotADuration("30s1m".into())));
        assert_eq!(parse_duration("1m1m"), Err(TimeSpecError::NotADuration("1m1m".into())));
        assert_eq!(parse_duration("1m30"), Err(TimeSpecError::NotADuration("1m30".into())), "bare number must stand alone");
        assert!(parse_duration("30s1m").unwrap_err().to_string().contains("largest unit first"));
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
        assert_eq!(err.to_string(), "\"5y\" is not a duration: use a number with ms, s, m or h, largest unit first, like 30s, 5m, 1h30m");
        for bad in ["", "   ", "s", ".", "1.2.3s", "NaN", "inf", "1e3", "5 y", "10 s x", "½s", "1d", "1w", "++5m"] {
            assert_eq!(parse_duration(bad), Err(TimeSpecError::NotADuration(bad.into())), "{bad}");
        }
        assert_eq!(parse_duration("-1s"), Err(TimeSpecError::Negative("-1s".into())));
        assert_eq!(parse_duration("1s ago"), Err(TimeSpecError::Negative("1s ago".into())));
        assert_eq!(parse_duration("0"), Err(TimeSpecError::Zero("0".into())));
        assert_eq!(parse_duration("0.000000000s"), Err(TimeSpecError::Zero("0.000000000s".into())));
        // jiff reads at most 9 fraction digits (nanoseconds): finer input is refused, not rounded.
        assert_eq!(parse_duration("0.0000000001s"), Err(TimeSpecError::NotADuration("0.0000000001s".into())));
        assert!(parse_duration("0s").unwrap_err().to_string().contains("like 30s"));
    }

    #[test]
    fn absurd_durations_are_rejected() {
        assert_eq!(parse_duration("876000h"), Ok(secs(876_000 * 3600)), "100 years of 365 days is fine");
        assert_eq!(parse_duration("877000h"), Err(TimeSpecError::TooLarge("877000h".into())));
        // Past jiff's range (i64 seconds) the input does not parse at all.
        for huge in ["9999999999999999h", "99999999999999999999999999999999999999999999h"] {
            assert_eq!(parse_duration(huge), Err(TimeSpecError::NotADuration(huge.into())), "{huge}");
        }
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
        assert_eq!(TimeBound::parse("10:30"), Err(TimeSpecError::NotATime("10:30".into())), "clock time or offset? neither");
        assert_eq!(TimeBound::parse("877000h"), Err(TimeSpecError::TooLarge("877000h".into())));
        assert!(TimeBound::parse("").unwrap_err().to_string().contains("2026-11-27T10:00:00Z"));
    }

    #[test]
    fn bounds_as_rfc3339_times() {
        let wall = |unix_ns| Ok(TimeBound::Wall { unix_ns });
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00Z"), wall(NOV27_10H));
        assert_eq!(TimeBound::parse("2026-11-27t10:00:00z"), wall(NOV27_10H));
        assert_eq!(TimeBound::parse("2026-11-27 10:00:00"), wall(NOV27_10H), "no zone is UTC");
        assert_eq!(TimeBound::parse("2026-11-27T10:00"), wall(NOV27_10H), "seconds optional");
        assert_eq!(TimeBound::parse("2026-11-27T10"), wall(NOV27_10H), "minutes too (RFC 9557)");
        assert_eq!(TimeBound::parse("2026-11-27"), wall(NOV27_10H - 10 * 3600 * 1_000_000_000), "midnight");
        assert_eq!(TimeBound::parse(" 2026-11-27T10:00:00Z "), wall(NOV27_10H));
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00.25Z"), wall(NOV27_10H + 250_000_000));
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00.123456789Z"), wall(NOV27_10H + 123_456_789));
        assert!(matches!(TimeBound::parse("2026-11-27T10:00:00.123456789123Z"), Err(TimeSpecError::InvalidTime { .. })), "finer than ns");
        assert_eq!(TimeBound::parse("1970-01-01T00:00:00Z"), wall(0));
    }

    #[test]
    fn zone_offsets_are_east_of_utc() {
        // `date -u -d 2026-11-27T10:00:00+01:00 +%s` = 1795770000; -05:30 gives 1795793400.
        let wall = |s: u64| Ok(TimeBound::Wall { unix_ns: s * 1_000_000_000 });
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00+01:00"), wall(1_795_770_000));
        assert_eq!(TimeBound::parse("2026-11-27 10:00:00-05:30"), wall(1_795_793_400));
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00+00:00"), wall(1_795_773_600));
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00+0100"), wall(1_795_770_000), "RFC 9557 basic offset");
        assert_eq!(TimeBound::parse("2026-11-27T10:00:00+01:00[Europe/Paris]"), wall(1_795_770_000), "the offset decides");
        assert!(matches!(TimeBound::parse("2026-11-27T10:00:00[Europe/Paris]"), Err(TimeSpecError::InvalidTime { .. })), "a zone name alone is not UTC");
        assert!(matches!(TimeBound::parse("2026-11-27T10:00:00+26:00"), Err(TimeSpecError::InvalidTime { .. })));
    }

    #[test]
    fn leap_days() {
        // `date -u -d 2024-02-29 +%s` = 1709164800; 2000 is a leap year (÷400), 2100 is not.
        assert_eq!(TimeBound::parse("2024-02-29T00:00:00Z"), Ok(TimeBound::Wall { unix_ns: 1_709_164_800 * 1_000_000_000 }));
        assert_eq!(TimeBound::parse("2000-03-01"), Ok(TimeBound::Wall { unix_ns: 951_868_800 * 1_000_000_000 }));
        assert!(TimeBound::parse("2000-02-29").is_ok());
        let err = TimeBound::parse("2100-02-29").unwrap_err();
        assert_eq!(err.to_string(), "\"2100-02-29\" is not a valid time: parsed date is not valid: parameter 'day' for `2100-02` is invalid, must be in range `1..=28` (use a time like 2026-11-27T10:00:00Z)");
        assert!(TimeBound::parse("2023-02-29").is_err());
    }

    #[test]
    fn out_of_range_fields() {
        let reason = |text: &str| match TimeBound::parse(text) {
            Err(TimeSpecError::InvalidTime { reason, .. }) => reason,
            other => panic!("{text}: {other:?}"),
        };
        assert!(reason("2026-13-01").contains("'month' is not in the required range of 1..=12"));
        assert!(reason("2026-00-01").contains("'month' is not in the required range of 1..=12"));
        assert!(reason("2026-04-31").contains("'day' for `2026-04` is invalid, must be in range `1..=30`"));
        assert!(reason("2026-04-00").contains("'day' is not in the required range of 1..=31"));
        assert!(reason("2026-11-27T24:00:00Z").contains("'hour' is not in the required range of 0..=23"));
        assert!(reason("2026-11-27T10:60:00Z").contains("'minute' is not in the required range of 0..=59"));
        for bad in ["2026-1-27", "2026-11-27T10:00:00.Z", "2026-11-27T10:00:00Zjunk", "2026-11-27X10:00", "2026-11-27T1é:00"] {
            assert!(!reason(bad).is_empty(), "{bad}");
        }
        // Unix time has no leap second; RFC 9557 (and jiff) read :60 as :59.
        assert_eq!(TimeBound::parse("2026-11-27T10:00:60Z"), Ok(TimeBound::Wall { unix_ns: NOV27_10H + 59_000_000_000 }));
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
