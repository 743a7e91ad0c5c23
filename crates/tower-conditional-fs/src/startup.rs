//! Indexing the root at startup: every file hashed by a bounded number of blocking threads,
//! with progress through `tracing`, or its tag read from a build-time manifest.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tower_conditional::ETag;

use crate::index::{Index, Known, Trust};
use crate::stat::StatKey;

/// How often hashing reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// A file found under the root.
struct Listed {
    rel: String,
    len: u64,
}

/// Indexes every file under the root: tags from `manifest` where it names the file, hashed
/// otherwise, by at most `parallelism` threads at once.
pub(crate) async fn index_root(
    index: &Arc<Index>,
    parallelism: usize,
    trust: Trust,
    manifest: Option<&Path>,
) -> io::Result<()> {
    let started = Instant::now();
    let root = index.root().to_path_buf();
    let listed = tokio::task::spawn_blocking(move || list(&root))
        .await
        .map_err(io::Error::other)??;
    let tags = match manifest {
        Some(path) => read_manifest(path)?,
        None => HashMap::new(),
    };
    let from_manifest = tags.len();
    // The files the manifest names are only stat'ed (on a blocking thread, like the hashing).
    let (queue, tags) = {
        let index = Arc::clone(index);
        tokio::task::spawn_blocking(move || -> io::Result<_> {
            let mut tags = tags;
            let mut queue = Vec::new();
            for file in listed {
                match tags.remove(&file.rel) {
                    Some(tag) => {
                        let slot = index.slot(&file.rel);
                        let metadata = std::fs::metadata(&slot.abs)?;
                        let known = Known::new(
                            StatKey::of(&metadata),
                            tag,
                            slot.sibling_of,
                            Trust::Always,
                            SystemTime::now(),
                        );
                        slot.set(known);
                    }
                    None => queue.push(file),
                }
            }
            Ok((queue, tags))
        })
        .await
        .map_err(io::Error::other)??
    };
    if manifest.is_some() {
        for rel in tags.keys() {
            tracing::warn!(path = %rel, "the manifest names a file that is not under the root");
        }
        if !queue.is_empty() {
            tracing::warn!(
                files = queue.len(),
                "files under the root that the manifest does not name: hashing them"
            );
        }
        tracing::info!(
            files = from_manifest - tags.len(),
            "tags read from the manifest"
        );
    }
    hash_all(index, queue, parallelism.max(1), trust).await;
    tracing::info!(
        files = index.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "static files indexed"
    );
    Ok(())
}

/// Hashes `files` on at most `parallelism` blocking threads; a file that cannot be read is
/// logged and left to be hashed when first asked for.
async fn hash_all(index: &Arc<Index>, files: Vec<Listed>, parallelism: usize, trust: Trust) {
    if files.is_empty() {
        return;
    }
    let total_files = files.len() as u64;
    let total_bytes: u64 = files.iter().map(|file| file.len).sum();
    let queue = Arc::new(Mutex::new(files));
    let done_files = Arc::new(AtomicU64::new(0));
    let done_bytes = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..parallelism.min(total_files as usize) {
        let (index, queue) = (Arc::clone(index), Arc::clone(&queue));
        let (done_files, done_bytes) = (Arc::clone(&done_files), Arc::clone(&done_bytes));
        workers.spawn_blocking(move || {
            loop {
                let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop();
                let Some(file) = next else { return };
                let slot = index.slot(&file.rel);
                if let Err(error) = slot.hash_path(trust) {
                    tracing::warn!(path = %file.rel, %error, "cannot hash a file at startup");
                }
                done_bytes.fetch_add(file.len, Ordering::Relaxed);
                done_files.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let started = Instant::now();
    loop {
        tokio::select! {
            next = workers.join_next() => if next.is_none() { break },
            () = tokio::time::sleep(PROGRESS_EVERY) => tracing::info!(
                files = done_files.load(Ordering::Relaxed),
                total_files,
                bytes = done_bytes.load(Ordering::Relaxed),
                total_bytes,
                "hashing static files"
            ),
        }
    }
    tracing::info!(
        files = total_files,
        bytes = total_bytes,
        threads = parallelism,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "static files hashed"
    );
}

/// Every regular file under `root` (symbolic links to files included; directories reached
/// through a link are left to be found on request, so a link cycle cannot trap the walk).
fn list(root: &Path) -> io::Result<Vec<Listed>> {
    let mut files = Vec::new();
    let mut pending: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue; // not UTF-8: no request path can name it
            };
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push((entry.path(), rel));
            } else if let Ok(metadata) = std::fs::metadata(entry.path()) {
                if metadata.is_file() {
                    files.push(Listed {
                        rel,
                        len: metadata.len(),
                    });
                }
            }
        }
    }
    Ok(files)
}

/// Reads a manifest in `sha256sum`'s format (`<64 hex digits>  <path>`, or `*<path>` in binary
/// mode, paths relative to the root, `./` allowed): the tag of each file is the first 32 hex
/// digits of its SHA-256, exactly what hashing it gives.
pub(crate) fn read_manifest(path: &Path) -> io::Result<HashMap<String, ETag>> {
    let invalid = |line: usize, what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}:{line}: {what}", path.display()),
        )
    };
    let mut tags = HashMap::new();
    for (number, line) in BufReader::new(File::open(path)?).lines().enumerate() {
        let line = line?;
        let number = number + 1;
        if line.trim().is_empty() {
            continue;
        }
        // sha256sum marks a line whose name holds `\` or a newline with a leading `\`.
        let (escaped, line) = match line.strip_prefix('\\') {
            Some(rest) => (true, rest),
            None => (false, line.as_str()),
        };
        let (digest, name) = line
            .split_once(' ')
            .ok_or_else(|| invalid(number, "expected `<sha256 hex>  <path>`"))?;
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(number, "the digest is not 64 hex digits"));
        }
        let name = name
            .strip_prefix(' ')
            .or_else(|| name.strip_prefix('*'))
            .ok_or_else(|| invalid(number, "expected two spaces or ` *` before the path"))?;
        let name = if escaped {
            name.replace("\\n", "\n").replace("\\\\", "\\")
        } else {
            name.to_owned()
        };
        let rel = name.trim_start_matches("./").to_owned();
        let tag =
            ETag::strong(digest[..32].to_ascii_lowercase()).expect("hex digits are etagc bytes");
        tags.insert(rel, tag);
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_line_gives_the_tag_hashing_would() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("SHA256SUMS");
        // sha256("hello") = 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
        std::fs::write(
            &manifest,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824  ./a/hello.txt\n\
             2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824 *b.txt\n",
        )
        .unwrap();
        let tags = read_manifest(&manifest).unwrap();
        assert_eq!(tags["a/hello.txt"], ETag::from_content(b"hello"));
        assert_eq!(tags["b.txt"], ETag::from_content(b"hello"));
    }

    #[test]
    fn a_malformed_manifest_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("SHA256SUMS");
        std::fs::write(&manifest, "\nnot a digest  a.txt\n").unwrap();
        let error = read_manifest(&manifest).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with(":2: the digest is not 64 hex digits"),
            "{error}"
        );
    }
}
