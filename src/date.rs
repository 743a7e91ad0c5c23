//! Modification dates at HTTP's one-second resolution (RFC 9110 §8.8.2, §5.6.7).
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use tower_conditional::LastModified;
//!
//! // 784111777.7 seconds: the sub-second part is dropped before any comparison.
//! let written = UNIX_EPOCH + Duration::from_millis(784_111_777_700);
//! let modified = LastModified::try_from(written)?;
//! assert_eq!(modified, "Sun, 06 Nov 1994 08:49:37 GMT".parse()?);
//! # Ok::<(), tower_conditional::InvalidDate>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;

/// 9999-12-31T23:59:59Z, the last instant an HTTP-date can name (httpdate panics past it).
const MAX_UNIX_SECONDS: u64 = 253_402_300_799;

/// A representation's last modification time, truncated to whole seconds.
///
/// HTTP dates have one-second resolution (RFC 9110 §8.8.2), so a representation changed at
/// 12:00:00.700 is "Last-Modified: 12:00:00" and a request naming 12:00:00 must count as not
/// modified. Truncating on construction makes every comparison right by design.
///
/// Only instants from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z can be represented; others
/// are refused with [`InvalidDate`] instead of panicking.
///
/// # What a date precondition can and cannot protect
///
/// A date names a second, not a version. `If-Unmodified-Since` protects a write exactly when no
/// two versions of the resource carry the same `Last-Modified`, and the date is one the server
/// sent: then it names one version, and the compare-and-set against
/// [`Checked`](crate::Checked) catches a write landing after the check. Two versions written
/// within one second share a date, and a date from elsewhere (a `Date` header, a client's
/// clock) cannot tell a write within its second: there, only `If-Match` protects. A source
/// can make dates name versions by dating each version at least one second after the one it
/// replaces, by one clock (the database's) for every replica; a date that then lies ahead of
/// the clock is sent as "now" (RFC 9110 §8.8.2.1) and is compared as stored, so a write naming
/// "now" is refused until the clock passes it. `If-Range` with a date is true only for a
/// Last-Modified declared [strong](crate::Validators::with_strong_last_modified), and a 206 is
/// checked against it on the way out; `If-Modified-Since` is a cache's question, and a 304 from
/// a date is as precise as the date.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use tower_conditional::LastModified;
///
/// let modified = LastModified::from_unix_seconds(784_111_777)?;
/// assert_eq!(modified.to_string(), "Sun, 06 Nov 1994 08:49:37 GMT");
///
/// // Times outside the HTTP-date range are an error, not a panic.
/// let before_1970 = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
/// assert!(LastModified::try_from(before_1970).is_err());
/// # Ok::<(), tower_conditional::InvalidDate>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LastModified {
    unix_seconds: u64,
}

impl LastModified {
    /// The date `seconds` after 1970-01-01T00:00:00Z.
    ///
    /// # Errors
    ///
    /// Fails for dates after 9999-12-31T23:59:59Z, which HTTP cannot express.
    ///
    /// ```
    /// use tower_conditional::LastModified;
    ///
    /// assert!(LastModified::from_unix_seconds(0).is_ok());
    /// assert!(LastModified::from_unix_seconds(u64::MAX).is_err());
    /// ```
    pub fn from_unix_seconds(seconds: u64) -> Result<Self, InvalidDate> {
        if seconds > MAX_UNIX_SECONDS {
            return Err(InvalidDate::TooLate);
        }
        Ok(LastModified {
            unix_seconds: seconds,
        })
    }

    /// The current time, truncated to the second.
    ///
    /// Never panics: a system clock set outside 1970..=9999 gives the nearest representable
    /// date.
    ///
    /// ```
    /// use tower_conditional::LastModified;
    ///
    /// let now = LastModified::now();
    /// assert!(now.unix_seconds() > 1_700_000_000); // after November 2023
    /// assert_eq!(LastModified::try_from(std::time::SystemTime::from(now))?, now); // already whole seconds
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    pub fn now() -> Self {
        Self::clamped(SystemTime::now())
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    ///
    /// ```
    /// use tower_conditional::LastModified;
    ///
    /// let date: LastModified = "Sun, 06 Nov 1994 08:49:37 GMT".parse()?;
    /// assert_eq!(date.unix_seconds(), 784_111_777);
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    pub fn unix_seconds(self) -> u64 {
        self.unix_seconds
    }

    /// The value to send in a `Last-Modified` field at `now`: the date itself, or `now` when the
    /// date lies in the future (an origin must not send a Last-Modified later than its own clock,
    /// RFC 9110 §8.8.2.1).
    ///
    /// ```
    /// use tower_conditional::LastModified;
    ///
    /// let now = LastModified::from_unix_seconds(1_000)?;
    /// let future = LastModified::from_unix_seconds(5_000)?;
    /// assert_eq!(future.header_value_at(now), now.header_value_at(now));
    /// assert_eq!(now.header_value_at(now), "Thu, 01 Jan 1970 00:16:40 GMT");
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    pub fn header_value_at(self, now: LastModified) -> HeaderValue {
        let emitted = self.min(now);
        HeaderValue::try_from(emitted.to_string()).expect("an IMF-fixdate is a valid header value")
    }

    /// [`LastModified::header_value_at`] with the current time.
    ///
    /// ```
    /// use http::header;
    /// use tower_conditional::LastModified;
    ///
    /// let date = LastModified::from_unix_seconds(784_111_777)?;
    /// let response = http::Response::builder()
    ///     .header(header::LAST_MODIFIED, date.to_header_value())
    ///     .body(())?;
    /// assert_eq!(response.headers()[header::LAST_MODIFIED], "Sun, 06 Nov 1994 08:49:37 GMT");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_header_value(self) -> HeaderValue {
        self.header_value_at(Self::now())
    }

    /// Parses one HTTP-date (see [`parse_http_date`]) that a `LastModified` can hold: `None`
    /// for anything else, dates before 1970 included.
    pub(crate) fn parse_http_date(bytes: &[u8]) -> Option<Self> {
        let seconds = u64::try_from(parse_http_date(bytes)?).ok()?;
        Self::from_unix_seconds(seconds).ok()
    }

    /// Seconds since 1970-01-01T00:00:00Z, signed, to compare with a request's date (which may
    /// lie before 1970).
    pub(crate) fn signed_seconds(self) -> i64 {
        // At most MAX_UNIX_SECONDS, far below i64::MAX.
        self.unix_seconds as i64
    }

    fn clamped(time: SystemTime) -> Self {
        let seconds = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        LastModified {
            unix_seconds: seconds.min(MAX_UNIX_SECONDS),
        }
    }
}

/// Parses one HTTP-date in any of the three formats recipients must accept (RFC 9110 §5.6.7),
/// to signed seconds since 1970-01-01T00:00:00Z. Optional whitespace around the date is
/// skipped. Answers `None` for anything else, without allocating.
///
/// The grammar's `year` is any four digits, so IMF-fixdate and asctime dates from 0000 to 9999
/// are accepted, before 1970 included (as negative seconds); they are parsed here, IMF-fixdate
/// first (the only form current clients send). The RFC 850 form, with its two-digit year, goes
/// to `httpdate`, which reads `70`-`99` as 19xx and `00`-`69` as 20xx. RFC 9110 §5.6.7 asks
/// instead for the most recent past year with those digits when the year would be more than 50
/// years ahead (in 2026: `70`-`76` are 2070-2076, not 1970-1976). Not done: the answer would
/// depend on the clock at parse time and change which day name is valid, for a form no
/// current client sends.
pub(crate) fn parse_http_date(bytes: &[u8]) -> Option<i64> {
    let bytes = trim_ows(bytes);
    let parsed = match bytes.len() {
        29 => imf_fixdate(bytes.try_into().ok()?),
        24 => asctime_date(bytes.try_into().ok()?),
        _ => None,
    };
    // Anything else goes to httpdate, which also accepts what it accepted before this parser
    // existed (it trims more than optional whitespace, for one).
    parsed.or_else(|| obsolete_date(bytes))
}

/// The RFC 850 form (and anything else `httpdate` accepts), as signed seconds.
fn obsolete_date(bytes: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let since = httpdate::parse_http_date(text)
        .ok()?
        .duration_since(UNIX_EPOCH);
    // httpdate answers only dates from 1970 to 9999: the conversion cannot fail.
    i64::try_from(since.ok()?.as_secs()).ok()
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate, RFC 9110 §5.6.7): every field at a fixed
/// position, so the separators are checked in one comparison and the digits without branches.
fn imf_fixdate(s: &[u8; 29]) -> Option<i64> {
    let separators = [
        s[3], s[4], s[7], s[11], s[16], s[19], s[22], s[25], s[26], s[27], s[28],
    ];
    if separators != *b",    :: GMT" {
        return None;
    }
    let digits = [
        s[5], s[6], s[17], s[18], s[20], s[21], s[23], s[24], s[12], s[13], s[14], s[15],
    ];
    fields(digits, [s[8], s[9], s[10]], [s[0], s[1], s[2]])
}

/// `Sun Nov  6 08:49:37 1994` (asctime-date, RFC 9110 §5.6.7); the day is `2DIGIT` or
/// `SP DIGIT`.
fn asctime_date(s: &[u8; 24]) -> Option<i64> {
    if [s[3], s[7], s[10], s[13], s[16], s[19]] != *b"   :: " {
        return None;
    }
    let day_tens = if s[8] == b' ' { b'0' } else { s[8] };
    let digits = [
        day_tens, s[9], s[11], s[12], s[14], s[15], s[17], s[18], s[20], s[21], s[22], s[23],
    ];
    fields(digits, [s[4], s[5], s[6]], [s[0], s[1], s[2]])
}

/// The instant named by the fields of a fixed-layout date: the digits of day, hour, minute,
/// second (two each) and year (four), the month's and the weekday's names.
fn fields(digit_bytes: [u8; 12], month_name: [u8; 3], weekday_name: [u8; 3]) -> Option<i64> {
    let [d1, d0, h1, h0, m1, m0, s1, s0, y3, y2, y1, y0] = digits(digit_bytes)?;
    let time = time_of_day(h1 * 10 + h0, m1 * 10 + m0, s1 * 10 + s0)?;
    let year = y3 * 1000 + y2 * 100 + y1 * 10 + y0;
    let month = month(month_name)?;
    date_time(year, month, d1 * 10 + d0, time, weekday(weekday_name)?)
}

/// The values of ASCII digits, or `None` if any byte is not one. No early exit.
#[inline]
fn digits<const N: usize>(bytes: [u8; N]) -> Option<[u32; N]> {
    let values = bytes.map(|b| b.wrapping_sub(b'0'));
    let all_digits = values.iter().fold(true, |ok, &d| ok & (d < 10));
    all_digits.then(|| values.map(u32::from))
}

/// Seconds into the day; hours below 24, minutes and seconds below 60.
///
/// No leap second (`:60`): `httpdate` refuses it too, and a server's clock (POSIX time) never
/// names one, so no client holds such a date to send back.
fn time_of_day(hour: u32, minute: u32, second: u32) -> Option<i64> {
    (hour < 24 && minute < 60 && second < 60).then(|| i64::from(hour * 3600 + minute * 60 + second))
}

/// The instant of a validated calendar date and time of day, or `None` when the day does not
/// exist in that month or `weekday` is not its day of the week.
///
/// The day name must be right, for every year: `httpdate` checks it for the dates it accepts
/// (1970 on), and a date whose day name contradicts it is not one a server generated, so it is
/// refused the same way before 1970 (proleptic Gregorian calendar, as HTTP-dates use).
fn date_time(year: u32, month: u32, day: u32, time: i64, weekday: i64) -> Option<i64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in_month = match month {
        2 => 28 + u32::from(leap),
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    // 1970-01-01 was a Thursday (Sunday = 0).
    if (days + 4).rem_euclid(7) != weekday {
        return None;
    }
    Some(days * 86_400 + time)
}

/// Days from 1970-01-01 to `year-month-day` in the proleptic Gregorian calendar (negative
/// before 1970). Howard Hinnant's `days_from_civil`: years are counted from March, so the leap
/// day ends a year, and 400-year eras have exactly 146,097 days.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Three letters as one number, to match names with one comparison each.
const fn name(letters: &[u8; 3]) -> u32 {
    u32::from_le_bytes([letters[0], letters[1], letters[2], 0])
}

/// `Mon` .. `Sun` as days of the week, Sunday = 0. Case-sensitive, as in `httpdate`.
fn weekday(letters: [u8; 3]) -> Option<i64> {
    const NAMES: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
    // A perfect hash: the top three bits of `name * 2522` differ for the seven names.
    const SLOTS: [(u32, i64); 8] = slots(&NAMES, 2522, 3);
    let key = name(&letters);
    let (expected, day) = SLOTS[(key.wrapping_mul(2522) >> 29) as usize];
    (key == expected).then_some(day)
}

/// `Jan` .. `Dec` as 1 to 12. Case-sensitive, as in `httpdate`.
fn month(letters: [u8; 3]) -> Option<u32> {
    const NAMES: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    // A perfect hash: the top four bits of `name * 26596` differ for the twelve names.
    const SLOTS: [(u32, i64); 16] = slots(&NAMES, 26_596, 4);
    let key = name(&letters);
    let (expected, month) = SLOTS[(key.wrapping_mul(26_596) >> 28) as usize];
    (key == expected).then_some(month as u32 + 1)
}

/// The table of a perfect hash of `names`: slot `name * multiplier >> (32 - bits)` holds the
/// name and its index; empty slots hold 0, which no name equals. Fails to compile if two names
/// share a slot.
const fn slots<const N: usize, const S: usize>(
    names: &[&[u8; 3]; N],
    multiplier: u32,
    bits: u32,
) -> [(u32, i64); S] {
    let mut slots = [(0, 0); S];
    let mut i = 0;
    while i < N {
        let key = name(names[i]);
        let slot = (key.wrapping_mul(multiplier) >> (32 - bits)) as usize;
        assert!(slots[slot].0 == 0, "two names share a slot");
        slots[slot] = (key, i as i64);
        i += 1;
    }
    slots
}

/// Strips RFC 9110 §5.6.3 optional whitespace (SP / HTAB) from both ends.
pub(crate) fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

impl TryFrom<SystemTime> for LastModified {
    type Error = InvalidDate;

    /// Truncates `time` to whole seconds.
    ///
    /// # Errors
    ///
    /// Fails for instants before 1970 or after 9999, which HTTP dates cannot express.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_conditional::{InvalidDate, LastModified};
    ///
    /// let time = UNIX_EPOCH + Duration::from_millis(1_999);
    /// assert_eq!(LastModified::try_from(time)?.unix_seconds(), 1);
    /// let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
    /// assert_eq!(LastModified::try_from(far), Err(InvalidDate::TooLate));
    /// # Ok::<(), InvalidDate>(())
    /// ```
    fn try_from(time: SystemTime) -> Result<Self, Self::Error> {
        let since = time
            .duration_since(UNIX_EPOCH)
            .map_err(|_| InvalidDate::BeforeUnixEpoch)?;
        Self::from_unix_seconds(since.as_secs())
    }
}

/// The date as a [`SystemTime`] (whole seconds).
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use tower_conditional::LastModified;
///
/// let date = LastModified::from_unix_seconds(784_111_777)?;
/// assert_eq!(SystemTime::from(date), UNIX_EPOCH + Duration::from_secs(784_111_777));
/// # Ok::<(), tower_conditional::InvalidDate>(())
/// ```
impl From<LastModified> for SystemTime {
    fn from(date: LastModified) -> Self {
        UNIX_EPOCH + Duration::from_secs(date.unix_seconds)
    }
}

/// Prints the IMF-fixdate form, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
///
/// ```
/// use tower_conditional::LastModified;
///
/// // Other accepted forms print as IMF-fixdate.
/// let date: LastModified = "Sunday, 06-Nov-94 08:49:37 GMT".parse()?;
/// assert_eq!(date.to_string(), "Sun, 06 Nov 1994 08:49:37 GMT");
/// # Ok::<(), tower_conditional::InvalidDate>(())
/// ```
impl fmt::Display for LastModified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&httpdate::HttpDate::from(SystemTime::from(*self)), f)
    }
}

impl FromStr for LastModified {
    type Err = InvalidDate;

    /// Parses an HTTP-date in IMF-fixdate, RFC 850 or asctime form.
    ///
    /// # Errors
    ///
    /// [`InvalidDate::NotHttpDate`] for text that is not an HTTP-date;
    /// [`InvalidDate::BeforeUnixEpoch`] for a valid HTTP-date before 1970, which a
    /// `LastModified` cannot hold.
    ///
    /// ```
    /// use tower_conditional::LastModified;
    ///
    /// let imf: LastModified = "Sun, 06 Nov 1994 08:49:37 GMT".parse()?;
    /// let rfc850: LastModified = "Sunday, 06-Nov-94 08:49:37 GMT".parse()?;
    /// let asctime: LastModified = "Sun Nov  6 08:49:37 1994".parse()?;
    /// assert_eq!(imf, rfc850);
    /// assert_eq!(imf, asctime);
    ///
    /// let before_1970 = "Wed, 31 Dec 1969 23:59:59 GMT".parse::<LastModified>();
    /// assert_eq!(before_1970, Err(tower_conditional::InvalidDate::BeforeUnixEpoch));
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let seconds = parse_http_date(s.as_bytes()).ok_or(InvalidDate::NotHttpDate)?;
        let seconds = u64::try_from(seconds).map_err(|_| InvalidDate::BeforeUnixEpoch)?;
        Self::from_unix_seconds(seconds)
    }
}

/// The error for a time that cannot be an HTTP date.
///
/// ```
/// use tower_conditional::LastModified;
///
/// let error = "yesterday".parse::<LastModified>().unwrap_err();
/// assert_eq!(error.to_string(), "not an HTTP-date (IMF-fixdate, RFC 850 or asctime)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidDate {
    /// The instant lies before 1970-01-01T00:00:00Z.
    #[error("date is before 1970-01-01T00:00:00Z")]
    BeforeUnixEpoch,
    /// The instant lies after 9999-12-31T23:59:59Z.
    #[error("date is after 9999-12-31T23:59:59Z")]
    TooLate,
    /// The text is not an HTTP-date.
    #[error("not an HTTP-date (IMF-fixdate, RFC 850 or asctime)")]
    NotHttpDate,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_6_1994: u64 = 784_111_777;

    #[test]
    fn the_three_http_date_formats_parse_to_the_same_second() {
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            let date = LastModified::parse_http_date(text.as_bytes());
            assert_eq!(
                date.map(LastModified::unix_seconds),
                Some(NOV_6_1994),
                "{text}"
            );
        }
    }

    #[test]
    fn surrounding_whitespace_is_optional_whitespace() {
        let date = LastModified::parse_http_date(b" \tSun, 06 Nov 1994 08:49:37 GMT\t ");
        assert_eq!(date.map(LastModified::unix_seconds), Some(NOV_6_1994));
    }

    #[test]
    fn invalid_dates_are_not_dates() {
        for text in [
            &b""[..],
            b"0",
            b"yesterday",
            b"Sun, 06 Nov 1994 08:49:37 GMT garbage",
            b"Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 25:49:37 GMT",
            b"Sun, 32 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49:37 \xff",
            b"-1",
        ] {
            assert_eq!(LastModified::parse_http_date(text), None, "{:?}", text);
        }
    }

    /// IMF-fixdate and asctime texts with the instant they name, 1970 or not.
    const VALID: &[(&str, i64)] = &[
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777),
        ("Sun Nov  6 08:49:37 1994", 784_111_777),
        ("Sun Nov 06 08:49:37 1994", 784_111_777),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
        ("Wed, 31 Dec 1969 23:59:59 GMT", -1),
        ("Wed Dec 31 23:59:59 1969", -1),
        ("Sat, 01 Jan 0000 00:00:00 GMT", -62_167_219_200),
        ("Mon, 01 Jan 0001 12:34:56 GMT", -62_135_551_504),
        ("Sun, 15 Jun 1000 12:34:56 GMT", -30_595_922_704),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 253_402_300_799),
        // Leap years: every fourth, but not centuries, except every fourth century.
        ("Tue, 29 Feb 1600 12:34:56 GMT", -11_670_953_104),
        ("Thu, 29 Feb 1968 12:34:56 GMT", -58_015_504),
        ("Tue, 29 Feb 2000 12:34:56 GMT", 951_827_696),
        ("Thu, 29 Feb 2024 12:34:56 GMT", 1_709_210_096),
        ("Fri, 28 Feb 1969 12:34:56 GMT", -26_479_504),
        ("Thu, 01 Mar 1900 12:34:56 GMT", -2_203_845_904),
    ];

    #[test]
    fn http_dates_from_year_0000_to_9999_parse_to_signed_seconds() {
        for &(text, seconds) in VALID {
            assert_eq!(parse_http_date(text.as_bytes()), Some(seconds), "{text}");
        }
    }

    #[test]
    fn malformed_or_impossible_dates_are_refused() {
        for text in [
            "Thu, 29 Feb 1900 12:34:56 GMT", // 1900 is not a leap year
            "Wed, 29 Feb 2023 12:34:56 GMT",
            "Sun, 31 Apr 1994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:37 GMT",
            "Sun, 06 Nov 1994 08:49:60 GMT", // no leap second, as in httpdate
            "Mon, 06 Nov 1994 08:49:37 GMT", // 1994-11-06 was a Sunday
            "Thu, 31 Dec 1969 23:59:59 GMT", // a Wednesday
            "sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 gmt",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08.49.37 GMT",
            "Sun,  6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 994 08:49:37 GMT ",
            "Sun, 06 Nov -994 08:49:37 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Sun, 06-Nov-1994 08:49:37 GMT",
            "Sun,06 Nov 1994 08:49:37 GMT ",
            "Sun Nov  6 08:49:37 0000", // a Saturday
            "Sun Nov  0 08:49:37 1994",
            "Sun Nov 6  08:49:37 1994",
            "Sun Nov  6 08:49:37 19a4",
            "Sun, 06 Nov 1994 08:49:37 GMT\0",
        ] {
            assert_eq!(parse_http_date(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn dates_before_1970_are_http_dates_but_not_last_modified() {
        let text = "Wed, 31 Dec 1969 23:59:59 GMT";
        assert_eq!(LastModified::parse_http_date(text.as_bytes()), None);
        assert_eq!(
            text.parse::<LastModified>(),
            Err(InvalidDate::BeforeUnixEpoch)
        );
    }

    /// Seconds in 400 Gregorian years: the calendar, days of the week included, repeats.
    const FOUR_CENTURIES: i64 = 146_097 * 86_400;

    #[test]
    fn dates_before_1970_agree_with_httpdate_four_centuries_later() {
        // httpdate knows only 1970 on; shifting the year by 400 (or 2000) keeps the calendar.
        for &(text, seconds) in VALID.iter().filter(|(_, seconds)| *seconds < 0) {
            let shift = if seconds < -FOUR_CENTURIES { 2000 } else { 400 };
            let year_at = if text.contains(',') { 12 } else { 20 };
            let year: i64 = text[year_at..year_at + 4].parse().unwrap();
            let later = format!(
                "{}{}{}",
                &text[..year_at],
                year + shift,
                &text[year_at + 4..]
            );
            let expected = obsolete_date(later.as_bytes()).unwrap() - shift / 400 * FOUR_CENTURIES;
            assert_eq!(seconds, expected, "{text} via {later}");
        }
    }

    #[test]
    fn every_day_from_1970_to_2200_agrees_with_httpdate() {
        for day in 0..84_000u64 {
            let seconds = day * 86_400 + day * 7_919 % 86_400;
            let time = UNIX_EPOCH + Duration::from_secs(seconds);
            let imf = httpdate::fmt_http_date(time);
            assert_eq!(
                imf_fixdate(imf.as_bytes().try_into().unwrap()),
                Some(seconds as i64)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn the_fast_parser_agrees_with_httpdate(seconds in 0..=MAX_UNIX_SECONDS) {
            let imf = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(seconds));
            let asctime = format!(
                "{} {} {:>2} {} {}",
                &imf[0..3],
                &imf[8..11],
                imf[5..7].trim_start_matches('0'),
                &imf[17..25],
                &imf[12..16]
            );
            for text in [&imf, &asctime] {
                proptest::prop_assert_eq!(parse_http_date(text.as_bytes()), Some(seconds as i64));
                proptest::prop_assert_eq!(obsolete_date(text.as_bytes()), Some(seconds as i64));
            }
        }

        /// One byte of a valid date changed: the fast parser accepts exactly what httpdate
        /// accepts (from 1970 on), with the same value.
        #[test]
        fn a_mutated_date_is_refused_or_accepted_as_by_httpdate(
            seconds in 0..=MAX_UNIX_SECONDS,
            at in 0usize..29,
            byte in proptest::prop_oneof![
                proptest::sample::select(&b"0123456789 ,:-ADFJMNOSTWabcdefglnoprtuvyG"[..]),
                proptest::num::u8::ANY,
            ],
        ) {
            let mut imf = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(seconds))
                .into_bytes();
            imf[at] = byte;
            let fast = imf_fixdate(imf.as_slice().try_into().unwrap());
            let reference = obsolete_date(&imf);
            // Dates before 1970 are the fast parser's alone.
            proptest::prop_assert_eq!(fast.filter(|s| *s >= 0), reference, "{:?}", imf);
        }
    }

    #[test]
    fn sub_second_parts_are_dropped() {
        let time = UNIX_EPOCH + Duration::from_millis(NOV_6_1994 * 1000 + 999);
        let date = LastModified::try_from(time).unwrap();
        assert_eq!(date.unix_seconds(), NOV_6_1994);
        assert_eq!(date.to_string(), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn times_outside_the_http_date_range_are_errors_not_panics() {
        assert_eq!(
            LastModified::try_from(UNIX_EPOCH - Duration::from_nanos(1)),
            Err(InvalidDate::BeforeUnixEpoch)
        );
        let far = UNIX_EPOCH + Duration::from_secs(MAX_UNIX_SECONDS + 1);
        assert_eq!(LastModified::try_from(far), Err(InvalidDate::TooLate));
        let last = LastModified::from_unix_seconds(MAX_UNIX_SECONDS).unwrap();
        assert_eq!(last.to_string(), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn a_future_modification_time_is_emitted_as_now() {
        let now = LastModified::from_unix_seconds(NOV_6_1994).unwrap();
        let future = LastModified::from_unix_seconds(NOV_6_1994 + 3600).unwrap();
        let past = LastModified::from_unix_seconds(NOV_6_1994 - 3600).unwrap();
        assert_eq!(future.header_value_at(now), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(past.header_value_at(now), "Sun, 06 Nov 1994 07:49:37 GMT");
    }

    #[test]
    fn now_is_within_range() {
        assert!(LastModified::now().unix_seconds() > NOV_6_1994);
    }
}
