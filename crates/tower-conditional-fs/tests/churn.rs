//! Files replaced in a loop (a new version renamed over the old, hundreds of times a second)
//! while requests run on several threads: no response carries a tag that does not name its
//! body, and no 206 is of a version other than the one `If-Range` named.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::StatusCode;
use http::header::{IF_NONE_MATCH, IF_RANGE, RANGE};
use tower_conditional::ETag;
use tower_conditional_fs::StaticFiles;

use common::{get, replace};

/// Version `n` of a file: different bytes (and sizes) for every version; `large` ones are
/// streamed from disk, the others read whole.
fn version(n: usize, large: bool) -> Vec<u8> {
    let line = format!("version {n:06} of this file\n");
    let lines = if large { 3000 + n % 7 } else { 5 + n % 7 };
    line.repeat(lines).into_bytes()
}

/// The version a body (or a part of one from byte 10 on) is of, read from its second line.
fn version_of(body: &[u8]) -> usize {
    let text = std::str::from_utf8(body).expect("text");
    let line = text.lines().nth(1).expect("a second line");
    line[8..14].parse().expect("a version number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_churn_every_tag_names_its_body() {
    let dir = tempfile::tempdir().unwrap();
    let names = [("small.txt", false), ("large.txt", true)];
    for (name, large) in names {
        std::fs::write(dir.path().join(name), version(0, large)).unwrap();
    }
    let files = StaticFiles::builder(dir.path()).build().await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (root, stop) = (dir.path().to_path_buf(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 1;
            while !stop.load(Ordering::Relaxed) {
                for (name, large) in names {
                    replace(&root.join(name), &version(n, large));
                }
                n += 1;
                // Bursts of changes, then a little calm, so that revalidations and resumes
                // also meet files that stay put for a moment.
                let pause = if n % 10 == 0 { 300 } else { 1 };
                std::thread::sleep(Duration::from_millis(pause));
            }
            n
        })
    };

    let mut readers = tokio::task::JoinSet::new();
    for reader in 0..6 {
        let (files, stop) = (files.clone(), Arc::clone(&stop));
        readers.spawn(async move {
            let (mut ok, mut not_modified, mut partial) = (0, 0, 0);
            let mut held: HashMap<&str, String> = HashMap::new();
            while !stop.load(Ordering::Relaxed) {
                for (name, _) in names {
                    let path = format!("/{name}");
                    let last = held.get(name).cloned();
                    let reply = match (reader % 3, &last) {
                        (1, Some(tag)) => {
                            get(files.service(), &path, &[(IF_NONE_MATCH, tag)]).await
                        }
                        (2, Some(tag)) => {
                            get(
                                files.service(),
                                &path,
                                &[(RANGE, "bytes=10-"), (IF_RANGE, tag)],
                            )
                            .await
                        }
                        _ => get(files.service(), &path, &[]).await,
                    };
                    let tag = reply.etag();
                    match reply.status {
                        StatusCode::OK => {
                            assert_eq!(
                                tag,
                                ETag::from_content(&reply.body).to_string(),
                                "{name}: a 200 whose tag does not name its body"
                            );
                            ok += 1;
                        }
                        StatusCode::NOT_MODIFIED => {
                            assert_eq!(
                                Some(&tag),
                                last.as_ref(),
                                "{name}: a 304 naming another tag"
                            );
                            not_modified += 1;
                        }
                        StatusCode::PARTIAL_CONTENT => {
                            assert_eq!(
                                Some(&tag),
                                last.as_ref(),
                                "{name}: a 206 of another version"
                            );
                            let whole = version(version_of(&reply.body), name == "large.txt");
                            assert_eq!(&reply.body[..], &whole[10..], "{name}: a spliced 206");
                            assert_eq!(
                                tag,
                                ETag::from_content(&whole).to_string(),
                                "{name}: a 206 whose tag names another version"
                            );
                            partial += 1;
                        }
                        status => panic!("{name}: unexpected {status}"),
                    }
                    held.insert(name, tag);
                }
            }
            (ok, not_modified, partial)
        });
    }
    tokio::time::sleep(Duration::from_millis(3000)).await;
    stop.store(true, Ordering::Relaxed);
    let mut totals = (0, 0, 0);
    while let Some(result) = readers.join_next().await {
        let (ok, not_modified, partial) = result.expect("a reader that saw only true tags");
        totals = (totals.0 + ok, totals.1 + not_modified, totals.2 + partial);
    }
    let written = writer.join().unwrap();
    eprintln!(
        "{written} versions written; 200: {}, 304: {}, 206: {}",
        totals.0, totals.1, totals.2
    );
    assert!(written > 50, "the files changed {written} times");
    assert!(totals.0 > 50 && totals.1 > 0 && totals.2 > 0, "{totals:?}");
}
