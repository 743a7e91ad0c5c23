//! From a request path to a file under the root, exactly as tower-http 0.7's `ServeDir` maps
//! it (`build_and_validate_path` and `maybe_redirect_or_append_path`): percent-decoding to
//! UTF-8, `.` and empty segments skipped, `..` (and any root or prefix) refused, `index.html`
//! for a path ending in `/`, a redirect to the `/` form for a directory named without one.
//! A refused path is never joined to the root, so nothing outside it is ever read.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// The longest sibling suffix (`.zst`): room kept after the file's name so that trying each
/// sibling's name reuses the one buffer.
const SUFFIX_ROOM: usize = 4;

/// Where a request path points, before the file system is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The file's name relative to the root (`/`-separated, without `.` or empty segments),
    /// then, while a sibling is tried, that sibling's suffix.
    name: String,
    /// The end of the path the request names in `name` (0 for the root itself).
    rel_len: usize,
    /// The end of the file's name in `name`: `rel_len`, or past `/index.html` with `slash`.
    file_len: usize,
    /// The request path ended in `/`: the path must be a directory, whose `index.html` is
    /// served.
    pub(crate) slash: bool,
}

impl Target {
    /// The path the request names, relative to the root (empty for the root itself).
    pub(crate) fn rel(&self) -> &str {
        &self.name[..self.rel_len]
    }

    /// The file served when the path is what the request says it is (a file, or with
    /// `slash`, a directory): the path or `path/index.html`.
    pub(crate) fn file(&self) -> &str {
        &self.name[..self.file_len]
    }

    /// The file's name with `suffix` (a sibling's) appended, in the target's own buffer.
    pub(crate) fn file_with(&mut self, suffix: &str) -> &str {
        self.name.truncate(self.file_len);
        self.name.push_str(suffix);
        &self.name
    }
}

/// The target of a request path, or `None` when `ServeDir` refuses it (404): not UTF-8 once
/// percent-decoded, or a `..`, root or prefix component.
///
/// The decoded path is split on `/` by hand rather than walked with `Path::components`: on
/// Unix the two agree (the tests compare them), and this is on every revalidation's path.
pub(crate) fn target(uri_path: &str) -> Option<Target> {
    let trimmed = uri_path.trim_start_matches('/');
    // Without a `%` there is nothing to decode, and a `&str` is UTF-8 already.
    let decoded: Cow<'_, str> = match trimmed.contains('%') {
        false => Cow::Borrowed(trimmed),
        true => percent_decode_str(trimmed).decode_utf8().ok()?,
    };
    if decoded.starts_with('/') {
        return None; // an encoded `/` first: a root component
    }
    let slash = uri_path.ends_with('/');
    let index_room = if slash { "/index.html".len() } else { 0 };
    let mut name = String::with_capacity(decoded.len() + index_room + SUFFIX_ROOM);
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            segment => {
                if !is_one_normal_component(segment) {
                    return None;
                }
                if !name.is_empty() {
                    name.push('/');
                }
                name.push_str(segment);
            }
        }
    }
    let rel_len = name.len();
    if slash {
        if !name.is_empty() {
            name.push('/');
        }
        name.push_str("index.html");
    }
    Some(Target {
        file_len: name.len(),
        name,
        rel_len,
        slash,
    })
}

/// Whether a `/`-free segment is one ordinary path component. Always on Unix; elsewhere
/// `ServeDir` refuses a segment the platform reads as more (a drive in `/foo/c:/bar`, #204).
#[cfg(unix)]
fn is_one_normal_component(_: &str) -> bool {
    true
}

#[cfg(not(unix))]
fn is_one_normal_component(segment: &str) -> bool {
    use std::path::{Component, Path};
    let mut components = Path::new(segment).components();
    matches!(components.next(), Some(Component::Normal(_))) && components.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn resolves(path: &str, file: &str, slash: bool) {
        let target = target(path).unwrap_or_else(|| panic!("{path} refused"));
        assert_eq!((target.file(), target.slash), (file, slash), "{path}");
    }

    #[test]
    fn paths_are_decoded_and_normalized_as_serve_dir_does() {
        resolves("/", "index.html", true);
        resolves("/.", "", false);
        resolves("/a.txt", "a.txt", false);
        resolves("/docs/", "docs/index.html", true);
        resolves("//a//b/./c.txt", "a/b/c.txt", false);
        resolves("/with%20space.txt", "with space.txt", false);
        resolves("/caf%C3%A9.txt", "café.txt", false);
        resolves("/a%2Fb.txt", "a/b.txt", false);
        resolves("/./", "index.html", true);
    }

    #[test]
    fn parent_segments_and_bad_encodings_are_refused() {
        for path in [
            "/../secret",
            "/a/../../secret",
            "/a/%2e%2e/secret",
            "/%2e%2e/secret",
            "/a/..",
            "/%2F%2Fetc/passwd",
            "/%FF.txt",
            "/a/%2e%2e%2fsecret",
        ] {
            assert_eq!(target(path), None, "{path}");
        }
    }

    /// `ServeDir`'s own walk (`Path::components` over the decoded path): the reference the
    /// hand-written split must agree with.
    #[cfg(unix)]
    fn by_components(uri_path: &str) -> Option<(String, bool)> {
        use std::path::{Component, Path};
        let trimmed = uri_path.trim_start_matches('/');
        let decoded = percent_decode_str(trimmed).decode_utf8().ok()?;
        let mut rel = Vec::new();
        for component in Path::new(&*decoded).components() {
            match component {
                Component::Normal(name) => rel.push(name.to_str()?.to_owned()),
                Component::CurDir => {}
                Component::Prefix(_) | Component::RootDir | Component::ParentDir => return None,
            }
        }
        Some((rel.join("/"), uri_path.ends_with('/')))
    }

    #[cfg(unix)]
    #[test]
    fn the_split_agrees_with_path_components_on_every_short_path() {
        // Every path of up to five pieces from these, each with and without a leading `/`.
        let pieces = [
            "/", ".", "..", "a", "%2F", "%2e", "%2E%2E", "%FF", "b.txt", "%20", "\\",
        ];
        let mut paths = vec![String::new()];
        let mut checked = 0;
        for _ in 0..5 {
            let mut longer = Vec::new();
            for path in &paths {
                for piece in pieces {
                    let path = format!("{path}{piece}");
                    for uri_path in [format!("/{path}"), path.clone()] {
                        let ours = target(&uri_path).map(|t| (t.rel().to_owned(), t.slash));
                        assert_eq!(ours, by_components(&uri_path), "{uri_path:?}");
                        checked += 1;
                    }
                    longer.push(path);
                }
            }
            paths = longer;
        }
        assert!(checked > 300_000, "{checked}");
    }

    #[test]
    fn a_sibling_name_reuses_the_buffer_and_keeps_the_file() {
        let mut target = target("/docs/").expect("a plain path");
        assert_eq!(target.file_with(".gz"), "docs/index.html.gz");
        assert_eq!(target.file_with(""), "docs/index.html");
        assert_eq!((target.rel(), target.file()), ("docs", "docs/index.html"));
    }
}
