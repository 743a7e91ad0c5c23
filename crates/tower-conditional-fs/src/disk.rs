//! The file system's half of `ServeDir`'s resolution (its `maybe_redirect_or_append_path` and
//! `open_file_with_fallback`), shared by the source (which only stats) and the file service
//! (which opens): a directory named without `/` is redirected, `dir/` serves `dir/index.html`,
//! and the preferred precompressed sibling that exists is taken, else the file itself.

use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};

use crate::coding::{Coding, Preference};
use crate::index::Index;
use crate::resolve::Target;

/// What a target is on disk.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "made once per request and taken apart at once"
)]
pub(crate) enum Found<F> {
    /// A directory named without the trailing `/`: `ServeDir` answers 307 to the `/` form.
    Directory,
    /// Nothing to serve: `ServeDir` answers 404.
    Missing,
    /// The file to serve: its path relative to the root (the sibling's, for a coding), its
    /// coding, the handle `open` gave and its metadata.
    File {
        rel: String,
        coding: Coding,
        handle: F,
        metadata: Metadata,
    },
}

/// Resolves `target` on disk; `open` stats or opens one path (following symlinks, as
/// `ServeDir` does).
pub(crate) fn find<F>(
    index: &Index,
    target: &Target,
    preference: Preference,
    open: impl Fn(&Path) -> io::Result<(F, Metadata)>,
) -> io::Result<Found<F>> {
    let is_dir = is_dir(index, target)?;
    if target.slash && is_dir != Some(true) {
        return Ok(Found::Missing);
    }
    if !target.slash && is_dir == Some(true) {
        return Ok(Found::Directory);
    }
    let file = target.file();
    let base = index.abs(file);
    for coding in preference.siblings() {
        let mut sibling = base.clone().into_os_string();
        sibling.push(coding.suffix());
        match open(&PathBuf::from(sibling)) {
            Ok((handle, metadata)) if metadata.is_file() => {
                return Ok(Found::File {
                    rel: format!("{file}{}", coding.suffix()),
                    coding,
                    handle,
                    metadata,
                });
            }
            // A sibling that is not a file, or not there: the next coding.
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) if is_absent(&error) => return Ok(Found::Missing),
            Err(error) => return Err(error),
        }
    }
    match open(&base) {
        Ok((handle, metadata)) if metadata.is_file() => Ok(Found::File {
            rel: file.to_owned(),
            coding: Coding::Identity,
            handle,
            metadata,
        }),
        Ok(_) => Ok(Found::Missing),
        Err(error) if is_absent(&error) => Ok(Found::Missing),
        Err(error) => Err(error),
    }
}

/// Whether the path the request names is a directory (`None`: nothing `ServeDir` would serve
/// is there), the first thing `ServeDir` looks at.
pub(crate) fn is_dir(index: &Index, target: &Target) -> io::Result<Option<bool>> {
    match std::fs::metadata(index.abs(target.rel())) {
        Ok(metadata) => Ok(Some(metadata.is_dir())),
        Err(error) if is_absent(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The errors `ServeDir` answers with 404: not found, permission denied, a file where a
/// directory was expected, or a name the system refuses (a NUL byte).
pub(crate) fn is_absent(error: &io::Error) -> bool {
    #[cfg(unix)]
    let not_a_directory = error.raw_os_error() == Some(20); // ENOTDIR
    #[cfg(not(unix))]
    let not_a_directory = false;
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput
    ) || not_a_directory
}
