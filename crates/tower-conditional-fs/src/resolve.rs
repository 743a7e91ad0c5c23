//! From a request path to a file under the root, exactly as tower-http 0.7's `ServeDir` maps
//! it (`build_and_validate_path` and `maybe_redirect_or_append_path`): percent-decoding to
//! UTF-8, `.` and empty segments skipped, `..` (and any root or prefix) refused, `index.html`
//! for a path ending in `/`, a redirect to the `/` form for a directory named without one.
//! A refused path is never joined to the root, so nothing outside it is ever read.

use std::borrow::Cow;
use std::path::{Component, Path};

use percent_encoding::percent_decode_str;

/// Where a request path points, before the file system is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The path relative to the root, `/`-separated, without `.` or empty segments (empty for
    /// the root itself).
    pub(crate) rel: String,
    /// The request path ended in `/`: `rel` must be a directory, whose `index.html` is served.
    pub(crate) slash: bool,
}

impl Target {
    /// The file served when `rel` is what the request says it is (a file, or with `slash`, a
    /// directory): `rel` or `rel/index.html`.
    pub(crate) fn file(&self) -> String {
        if !self.slash {
            return self.rel.clone();
        }
        let mut file = String::with_capacity(self.rel.len() + "/index.html".len());
        if !self.rel.is_empty() {
            file.push_str(&self.rel);
            file.push('/');
        }
        file.push_str("index.html");
        file
    }
}

/// The target of a request path, or `None` when `ServeDir` refuses it (404): not UTF-8 once
/// percent-decoded, or a `..`, root or prefix component.
pub(crate) fn target(uri_path: &str) -> Option<Target> {
    let trimmed = uri_path.trim_start_matches('/');
    let decoded: Cow<'_, str> = percent_decode_str(trimmed).decode_utf8().ok()?;
    let mut rel = String::with_capacity(decoded.len());
    for component in Path::new(&*decoded).components() {
        match component {
            Component::Normal(name) => {
                // `ServeDir` refuses a segment that is itself more than one component (a
                // Windows drive in `/foo/c:/bar`, #204); on Unix a segment never is.
                if !Path::new(name)
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)))
                {
                    return None;
                }
                let name = name.to_str()?;
                if !rel.is_empty() {
                    rel.push('/');
                }
                rel.push_str(name);
            }
            Component::CurDir => {}
            Component::Prefix(_) | Component::RootDir | Component::ParentDir => return None,
        }
    }
    Some(Target {
        rel,
        slash: uri_path.ends_with('/'),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn resolves(path: &str, file: &str, slash: bool) {
        let target = target(path).unwrap_or_else(|| panic!("{path} refused"));
        assert_eq!(
            (target.file().as_str(), target.slash),
            (file, slash),
            "{path}"
        );
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
}
