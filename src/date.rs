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
    /// assert_eq!(LastModified::try_from(now.to_system_time())?, now); // already whole seconds
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

    /// The date as a [`SystemTime`] (whole seconds).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_conditional::LastModified;
    ///
    /// let date = LastModified::from_unix_seconds(784_111_777)?;
    /// assert_eq!(date.to_system_time(), UNIX_EPOCH + Duration::from_secs(784_111_777));
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.unix_seconds)
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

    /// Parses one HTTP-date in any of the three formats recipients must accept (RFC 9110
    /// §5.6.7): IMF-fixdate, RFC 850 and asctime. Optional whitespace around the date is
    /// skipped. Answers `None` for anything else, without allocating.
    pub(crate) fn parse_http_date(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(trim_ows(bytes)).ok()?;
        let time = httpdate::parse_http_date(text).ok()?;
        Self::try_from(time).ok()
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

/// The same instant as [`LastModified::to_system_time`].
///
/// ```
/// use std::time::SystemTime;
/// use tower_conditional::LastModified;
///
/// let date = LastModified::from_unix_seconds(1_000)?;
/// assert_eq!(SystemTime::from(date), date.to_system_time());
/// # Ok::<(), tower_conditional::InvalidDate>(())
/// ```
impl From<LastModified> for SystemTime {
    fn from(date: LastModified) -> Self {
        date.to_system_time()
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
        fmt::Display::fmt(&httpdate::HttpDate::from(self.to_system_time()), f)
    }
}

impl FromStr for LastModified {
    type Err = InvalidDate;

    /// Parses an HTTP-date in IMF-fixdate, RFC 850 or asctime form.
    ///
    /// ```
    /// use tower_conditional::LastModified;
    ///
    /// let imf: LastModified = "Sun, 06 Nov 1994 08:49:37 GMT".parse()?;
    /// let rfc850: LastModified = "Sunday, 06-Nov-94 08:49:37 GMT".parse()?;
    /// let asctime: LastModified = "Sun Nov  6 08:49:37 1994".parse()?;
    /// assert_eq!(imf, rfc850);
    /// assert_eq!(imf, asctime);
    /// # Ok::<(), tower_conditional::InvalidDate>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_http_date(s.as_bytes()).ok_or(InvalidDate::NotHttpDate)
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
