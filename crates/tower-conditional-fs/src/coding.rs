//! Precompressed siblings: which coding a request gets, chosen exactly as tower-http 0.7's
//! `ServeDir` chooses it (its `content_encoding.rs` and `open_file.rs`).

use http::HeaderMap;
use http::header::ACCEPT_ENCODING;

/// A content coding with a precompressed sibling, in `ServeDir`'s order of preference among
/// equal weights (least preferred first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Coding {
    Identity,
    Deflate,
    Gzip,
    Brotli,
    Zstd,
}

impl Coding {
    /// Every coding with a sibling, most preferred first.
    pub(crate) const SIBLINGS: [Coding; 4] =
        [Coding::Zstd, Coding::Brotli, Coding::Gzip, Coding::Deflate];

    /// The sibling's file-name suffix (`ServeDir`'s `to_file_extension`).
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Coding::Identity => "",
            Coding::Deflate => ".zz",
            Coding::Gzip => ".gz",
            Coding::Brotli => ".br",
            Coding::Zstd => ".zst",
        }
    }

    /// The `Content-Encoding` token, which is also the tag suffix the library's encoding-aware
    /// tags use for this coding (`"B-gzip"`).
    pub(crate) fn token(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Deflate => "deflate",
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }

    fn parse(token: &str) -> Option<Coding> {
        let is = |name: &str| token.eq_ignore_ascii_case(name);
        if is("gzip") || is("x-gzip") {
            Some(Coding::Gzip)
        } else if is("deflate") {
            Some(Coding::Deflate)
        } else if is("br") {
            Some(Coding::Brotli)
        } else if is("zstd") {
            Some(Coding::Zstd)
        } else if is("identity") {
            Some(Coding::Identity)
        } else {
            None
        }
    }

    /// The coding a file name's suffix marks, among `enabled` ones.
    pub(crate) fn of_sibling(name: &str, enabled: Enabled) -> Option<Coding> {
        Coding::SIBLINGS
            .into_iter()
            .find(|coding| enabled.has(*coding) && name.ends_with(coding.suffix()))
    }
}

/// The set of codings whose siblings are served (`ServeDir::precompressed_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Enabled(u8);

impl Enabled {
    pub(crate) fn with(self, coding: Coding) -> Self {
        Enabled(self.0 | (1 << coding as u8))
    }

    pub(crate) fn has(self, coding: Coding) -> bool {
        coding != Coding::Identity && self.0 & (1 << coding as u8) != 0
    }

    pub(crate) fn any(self) -> bool {
        self.0 != 0
    }
}

/// The siblings to try, in order, before the file itself: `ServeDir` takes the accepted coding
/// of highest weight (ties by [`Coding`]'s order), falls back to the next when its sibling does
/// not exist, and stops at identity. At most four entries; no allocation.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Preference {
    order: [Option<Coding>; 4],
}

impl Preference {
    pub(crate) fn siblings(&self) -> impl Iterator<Item = Coding> + '_ {
        self.order.iter().map_while(|coding| *coding)
    }
}

/// Reads `Accept-Encoding` as tower-http 0.7 does: unknown codings and lines that are not
/// visible ASCII are skipped, an invalid q-value drops its member, `*` means nothing, and a
/// coding's weight is the highest of its members with q > 0.
pub(crate) fn preference(headers: &HeaderMap, enabled: Enabled) -> Preference {
    if !enabled.any() {
        return Preference::default();
    }
    // No field (curl, most API clients): identity only, without ranking anything.
    let mut lines = headers.get_all(ACCEPT_ENCODING).iter().peekable();
    if lines.peek().is_none() {
        return Preference::default();
    }
    // Weight per coding, in thousandths; index by `Coding as usize`. 0 = not accepted.
    let mut weight = [0u16; 5];
    let members = lines
        .filter_map(|line| line.to_str().ok())
        .flat_map(|line| line.split(','));
    for member in members {
        let mut parts = member.splitn(2, ';');
        let Some(coding) = Coding::parse(parts.next().unwrap_or_default().trim()) else {
            continue;
        };
        if coding != Coding::Identity && !enabled.has(coding) {
            continue;
        }
        let q = match parts.next() {
            Some(q) => match qvalue(q.trim()) {
                Some(q) => q,
                None => continue,
            },
            None => 1000,
        };
        let slot = &mut weight[coding as usize];
        *slot = (*slot).max(q);
    }
    // Highest weight first, ties by `Coding`'s order (the more preferred last in it); an array,
    // not a Vec: browsers send the field on every revalidation.
    let mut ranked = [
        Coding::Identity,
        Coding::Deflate,
        Coding::Gzip,
        Coding::Brotli,
        Coding::Zstd,
    ]
    .map(|coding| (weight[coding as usize], coding));
    ranked.sort_unstable_by(|a, b| b.cmp(a));
    let mut preference = Preference::default();
    let accepted = ranked
        .into_iter()
        .take_while(|&(weight, coding)| weight > 0 && coding != Coding::Identity);
    for (slot, (_, coding)) in preference.order.iter_mut().zip(accepted) {
        *slot = Some(coding);
    }
    preference
}

/// A q-value (`q=0.5`) in thousandths, as tower-http parses it: `0` or `1`, at most three
/// fractional digits, at most 1.
fn qvalue(text: &str) -> Option<u16> {
    let rest = text
        .strip_prefix("q=")
        .or_else(|| text.strip_prefix("Q="))?;
    let mut chars = rest.chars();
    let mut value: u16 = match chars.next()? {
        '0' => 0,
        '1' => 1000,
        _ => return None,
    };
    match chars.next() {
        None => return Some(value),
        Some('.') => {}
        Some(_) => return None,
    }
    let mut factor = 100;
    for c in chars {
        let digit = c.to_digit(10)? as u16;
        if factor == 0 {
            return None;
        }
        value += factor * digit;
        factor /= 10;
    }
    (value <= 1000).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn order(accept: &[&'static str], enabled: Enabled) -> Vec<Coding> {
        let mut headers = HeaderMap::new();
        for line in accept {
            headers.append(ACCEPT_ENCODING, HeaderValue::from_static(line));
        }
        preference(&headers, enabled).siblings().collect()
    }

    fn all() -> Enabled {
        Coding::SIBLINGS
            .into_iter()
            .fold(Enabled::default(), Enabled::with)
    }

    #[test]
    fn equal_weights_prefer_zstd_then_br_then_gzip_then_deflate() {
        use Coding::*;
        assert_eq!(
            order(&["gzip, deflate, br, zstd"], all()),
            [Zstd, Brotli, Gzip, Deflate]
        );
        assert_eq!(order(&["gzip", "br"], all()), [Brotli, Gzip]);
    }

    #[test]
    fn weights_order_codings_and_identity_stops_the_list() {
        use Coding::*;
        assert_eq!(order(&["gzip;q=0.9, br;q=0.5"], all()), [Gzip, Brotli]);
        assert_eq!(order(&["gzip;q=0.5, identity, br;q=0.9"], all()), []);
        assert_eq!(order(&["br, identity;q=0.5, gzip;q=0.1"], all()), [Brotli]);
        assert_eq!(order(&["gzip;q=0, br"], all()), [Brotli]);
        assert_eq!(order(&["gzip;q=0, gzip;q=0.3"], all()), [Gzip]);
    }

    #[test]
    fn unknown_disabled_or_malformed_members_are_skipped() {
        use Coding::*;
        let gzip_only = Enabled::default().with(Gzip);
        assert_eq!(order(&["br, gzip"], gzip_only), [Gzip]);
        assert_eq!(order(&[], all()), []);
        assert_eq!(order(&["*"], all()), []);
        assert_eq!(order(&["x-gzip"], all()), [Gzip]);
        assert_eq!(order(&["gzip;q=1.5, br;q=.5, zstd;q=0.1234"], all()), []);
        assert_eq!(order(&["GZIP;Q=0.5"], all()), [Gzip]);
        assert_eq!(order(&["gzip"], Enabled::default()), []);
    }
}
