//! The static files through the layer and the file service: paths as `ServeDir` resolves them,
//! tags of the bytes, changes seen without a restart, the five preconditions, per-coding tags.

mod common;

use std::path::Path;

use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_TYPE, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE,
    LAST_MODIFIED, LOCATION, RANGE, VARY,
};
use http::{HeaderName, Method, StatusCode};
use tower_conditional::ETag;
use tower_conditional_fs::{Refresh, StaticFiles, immutable_if_hashed};
use tower_http::services::ServeDir;

use common::{Reply, get, rewrite_keeping_mtime, send};

/// Request header fields, owned.
type Fields = Vec<(HeaderName, String)>;

/// A site with the shapes `ServeDir` treats specially, and a secret beside it.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, content: &[u8]| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    };
    write("secret.txt", b"outside the root");
    write("root/index.html", b"<h1>home</h1>");
    write("root/docs/index.html", b"<h1>docs</h1>");
    write("root/docs/page.txt", b"a page of text");
    write("root/with space.txt", b"spaced");
    write("root/caf\u{e9}.txt", b"accent");
    write("root/app.js", b"console.log('identity');");
    write("root/app.js.gz", b"pretend gzip bytes of app.js");
    write("root/app.js.br", b"pretend br bytes");
    write("root/only.css.gz", b"a gzip sibling without its original");
    write(
        "root/nested/deep/file.bin",
        &[0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    std::fs::create_dir_all(dir.path().join("root/empty")).unwrap();
    dir
}

async fn static_files(root: &Path) -> StaticFiles {
    StaticFiles::builder(root)
        .precompressed_gzip()
        .precompressed_br()
        .build()
        .await
        .unwrap()
}

/// What must agree with `ServeDir`: everything but the validators.
fn shape(reply: &Reply) -> Vec<(String, Option<String>)> {
    let mut shape = vec![("status".to_owned(), Some(reply.status.to_string()))];
    for name in [
        LOCATION,
        CONTENT_TYPE,
        CONTENT_ENCODING,
        CONTENT_RANGE,
        CONTENT_LENGTH,
        ACCEPT_RANGES,
        VARY,
    ] {
        shape.push((name.to_string(), reply.header(name).map(str::to_owned)));
    }
    shape.push((
        "body".to_owned(),
        Some(String::from_utf8_lossy(&reply.body).into_owned()),
    ));
    shape
}

#[tokio::test]
async fn paths_resolve_as_serve_dir_resolves_them() {
    let dir = site();
    let root = dir.path().join("root");
    let files = static_files(&root).await;
    let serve_dir = ServeDir::new(&root).precompressed_gzip().precompressed_br();
    let paths = [
        "/",
        "/index.html",
        "/docs",
        "/docs?tab=1",
        "/docs/",
        "/docs/page.txt",
        "/docs/page.txt/",
        "/docs//page.txt",
        "/docs/./page.txt",
        "/with%20space.txt",
        "/caf%C3%A9.txt",
        "/caf%E9.txt",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/docs/..%2f..%2fsecret.txt",
        "/docs/%2e%2e/%2e%2e/secret.txt",
        "/%2F..%2Fsecret.txt",
        "/missing",
        "/empty",
        "/empty/",
        "/nested/deep/file.bin",
        "/nested",
        "/app.js",
        "/app.js.gz",
        "/only.css",
        "/a%00b",
    ];
    // Unconditional (the file service alone answers) and with a tag that matches nothing
    // (the layer asks the source, which resolves the path too).
    let codings: [&[(HeaderName, &str)]; 8] = [
        &[],
        &[(ACCEPT_ENCODING, "gzip")],
        &[(ACCEPT_ENCODING, "gzip, br")],
        &[(ACCEPT_ENCODING, "br;q=0.5, gzip")],
        &[(ACCEPT_ENCODING, "identity, gzip;q=0.5")],
        &[(ACCEPT_ENCODING, "zstd, br;q=0")],
        &[(IF_NONE_MATCH, "\"nope\"")],
        &[(IF_NONE_MATCH, "\"nope\""), (ACCEPT_ENCODING, "br, gzip")],
    ];
    let mut compared = 0;
    for path in paths {
        for headers in codings {
            for method in [Method::GET, Method::HEAD] {
                let ours = send(files.service(), method.clone(), path, headers).await;
                let theirs = send(serve_dir.clone(), method.clone(), path, headers).await;
                compared += 1;
                if method == Method::HEAD && path.contains("%00") {
                    // ServeDir answers a GET of a name with a NUL byte 404 and its HEAD 500;
                    // both are 404 here.
                    assert_eq!(theirs.status, StatusCode::INTERNAL_SERVER_ERROR);
                    assert_eq!(ours.status, StatusCode::NOT_FOUND);
                    continue;
                }
                assert_eq!(shape(&ours), shape(&theirs), "{method} {path} {headers:?}");
                assert!(
                    !ours.body.starts_with(b"outside"),
                    "{path} read a file outside the root"
                );
            }
        }
    }
    assert_eq!(compared, paths.len() * codings.len() * 2);
}

#[tokio::test]
async fn ranges_and_refusals_are_answered_as_serve_dir_answers_them() {
    let dir = site();
    let root = dir.path().join("root");
    let files = static_files(&root).await;
    let serve_dir = ServeDir::new(&root).precompressed_gzip().precompressed_br();
    for range in [
        "bytes=0-3",
        "bytes=2-",
        "bytes=-2",
        "bytes=0-0",
        "bytes=5-1",
        "bytes=0-1,3-4",
        "bytes=100-",
        "chars=0-1",
        "bytes=0-1000",
    ] {
        for headers in [
            vec![(RANGE, range)],
            vec![(RANGE, range), (ACCEPT_ENCODING, "gzip")],
        ] {
            let ours = get(files.service(), "/docs/page.txt", &headers).await;
            let theirs = get(serve_dir.clone(), "/docs/page.txt", &headers).await;
            assert_eq!(shape(&ours), shape(&theirs), "{headers:?}");
            let ours = get(files.service(), "/app.js", &headers).await;
            let theirs = get(serve_dir.clone(), "/app.js", &headers).await;
            assert_eq!(shape(&ours), shape(&theirs), "{headers:?}");
        }
    }
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        let preconditions: &[(HeaderName, &str)] = &[(IF_MATCH, "\"x\"")];
        let ours = send(
            files.service(),
            method.clone(),
            "/index.html",
            preconditions,
        )
        .await;
        let theirs = send(
            serve_dir.clone(),
            method.clone(),
            "/index.html",
            preconditions,
        )
        .await;
        assert_eq!(shape(&ours), shape(&theirs), "{method}");
        assert_eq!(ours.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(ours.header(http::header::ALLOW), Some("GET,HEAD"));
    }
}

#[tokio::test]
async fn every_tag_is_the_hash_of_its_body_and_codings_never_validate_one_another() {
    let dir = site();
    let root = dir.path().join("root");
    let files = static_files(&root).await;
    let identity = get(files.service(), "/app.js", &[]).await;
    let gzip = get(files.service(), "/app.js", &[(ACCEPT_ENCODING, "gzip")]).await;
    let br = get(files.service(), "/app.js", &[(ACCEPT_ENCODING, "br")]).await;
    assert_eq!(
        identity.etag(),
        ETag::from_content(&identity.body).to_string()
    );
    let digest = |body: &[u8]| {
        ETag::from_content(body)
            .to_string()
            .trim_matches('"')
            .to_owned()
    };
    assert_eq!(gzip.header(CONTENT_ENCODING), Some("gzip"));
    assert_eq!(gzip.etag(), format!("\"{}-gzip\"", digest(&gzip.body)));
    assert_eq!(br.etag(), format!("\"{}-br\"", digest(&br.body)));

    let tags = [
        ("identity", identity.etag()),
        ("gzip", gzip.etag()),
        ("br", br.etag()),
    ];
    for (held_coding, held) in &tags {
        for (asked, accept) in [("identity", "identity"), ("gzip", "gzip"), ("br", "br")] {
            let reply = get(
                files.service(),
                "/app.js",
                &[(IF_NONE_MATCH, held), (ACCEPT_ENCODING, accept)],
            )
            .await;
            let expected = if *held_coding == asked {
                StatusCode::NOT_MODIFIED
            } else {
                StatusCode::OK
            };
            assert_eq!(reply.status, expected, "{held_coding} tag, {accept} asked");
            if reply.status == StatusCode::NOT_MODIFIED {
                assert_eq!(&reply.etag(), held);
                assert_eq!(reply.header(VARY), Some("accept-encoding"));
                assert!(reply.body.is_empty());
            }
        }
    }
    // A gzip sibling asked for by its own name is plain bytes with a tag of their own.
    let direct = get(files.service(), "/app.js.gz", &[]).await;
    assert_eq!(direct.body, gzip.body);
    assert_eq!(direct.header(CONTENT_ENCODING), None);
    assert_eq!(direct.etag(), format!("\"{}\"", digest(&direct.body)));
    assert_ne!(direct.etag(), gzip.etag());
}

#[tokio::test]
async fn a_change_that_keeps_size_and_mtime_is_seen_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.js");
    std::fs::write(&path, "version one").unwrap();
    let files = StaticFiles::builder(dir.path()).build().await.unwrap();
    let old = get(files.service(), "/app.js", &[]).await;
    let held = old.etag();
    let again = get(files.service(), "/app.js", &[(IF_NONE_MATCH, &held)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    rewrite_keeping_mtime(&path, b"version two");
    let changed = get(files.service(), "/app.js", &[(IF_NONE_MATCH, &held)]).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(&changed.body[..], b"version two");
    assert_eq!(
        changed.etag(),
        ETag::from_content(b"version two").to_string()
    );

    // A resume naming the old version gets the whole new file; naming the new one, the range.
    let stale = get(
        files.service(),
        "/app.js",
        &[(RANGE, "bytes=8-"), (IF_RANGE, &held)],
    )
    .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(&stale.body[..], b"version two");
    let current = changed.etag();
    let resumed = get(
        files.service(),
        "/app.js",
        &[(RANGE, "bytes=8-"), (IF_RANGE, &current)],
    )
    .await;
    assert_eq!(resumed.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&resumed.body[..], b"two");
    assert_eq!(resumed.etag(), current);
}

#[tokio::test]
async fn all_five_preconditions_are_evaluated_against_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.txt");
    std::fs::write(&path, "0123456789").unwrap();
    let modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let date = httpdate::fmt_http_date(modified);
    let before = httpdate::fmt_http_date(modified - std::time::Duration::from_secs(60));
    let files = StaticFiles::builder(dir.path())
        .last_modified(true)
        .build()
        .await
        .unwrap();
    for service in [0, 1] {
        // Through the layer, and the file service alone: the same answers.
        let ask = |headers: Fields| {
            let files = files.clone();
            async move {
                let headers: Vec<(HeaderName, &str)> = headers
                    .iter()
                    .map(|(n, v)| (n.clone(), v.as_str()))
                    .collect();
                if service == 0 {
                    get(files.service(), "/doc.txt", &headers).await
                } else {
                    get(files.serve_files(), "/doc.txt", &headers).await
                }
            }
        };
        let first = ask(vec![]).await;
        let tag = first.etag();
        assert_eq!(first.header(LAST_MODIFIED), Some(date.as_str()));
        let cases: Vec<(Fields, StatusCode, &[u8])> = vec![
            (vec![(IF_MATCH, tag.clone())], StatusCode::OK, b"0123456789"),
            (
                vec![(IF_MATCH, "\"stale\"".into())],
                StatusCode::PRECONDITION_FAILED,
                b"",
            ),
            (
                vec![(IF_NONE_MATCH, tag.clone())],
                StatusCode::NOT_MODIFIED,
                b"",
            ),
            (
                vec![(IF_NONE_MATCH, "\"stale\"".into())],
                StatusCode::OK,
                b"0123456789",
            ),
            (
                vec![(IF_MODIFIED_SINCE, date.clone())],
                StatusCode::NOT_MODIFIED,
                b"",
            ),
            (
                vec![(IF_MODIFIED_SINCE, before.clone())],
                StatusCode::OK,
                b"0123456789",
            ),
            (
                vec![(IF_UNMODIFIED_SINCE, date.clone())],
                StatusCode::OK,
                b"0123456789",
            ),
            (
                vec![(IF_UNMODIFIED_SINCE, before.clone())],
                StatusCode::PRECONDITION_FAILED,
                b"",
            ),
            (
                vec![(RANGE, "bytes=4-".into()), (IF_RANGE, tag.clone())],
                StatusCode::PARTIAL_CONTENT,
                b"456789",
            ),
            (
                vec![(RANGE, "bytes=4-".into()), (IF_RANGE, "\"stale\"".into())],
                StatusCode::OK,
                b"0123456789",
            ),
            // A date is a weak validator: the whole file.
            (
                vec![(RANGE, "bytes=4-".into()), (IF_RANGE, date.clone())],
                StatusCode::OK,
                b"0123456789",
            ),
            (
                vec![(RANGE, "bytes=4-".into()), (IF_MATCH, tag.clone())],
                StatusCode::PARTIAL_CONTENT,
                b"456789",
            ),
        ];
        for (headers, status, body) in cases {
            let reply = ask(headers.clone()).await;
            assert_eq!(reply.status, status, "{headers:?} (service {service})");
            if status != StatusCode::PRECONDITION_FAILED {
                assert_eq!(&reply.body[..], body, "{headers:?} (service {service})");
            }
            if status == StatusCode::NOT_MODIFIED {
                assert_eq!(reply.etag(), tag);
                assert_eq!(reply.header(CONTENT_LENGTH), None);
            }
        }
    }
}

#[tokio::test]
async fn a_304_carries_the_cache_control_the_200_carries() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.3f2a9c1b.js"), "hashed").unwrap();
    std::fs::write(dir.path().join("index.html"), "home").unwrap();
    let files = StaticFiles::builder(dir.path())
        .cache_control(immutable_if_hashed)
        .build()
        .await
        .unwrap();
    for (path, expected) in [
        ("/app.3f2a9c1b.js", "public, max-age=31536000, immutable"),
        ("/", "no-cache"),
    ] {
        let first = get(files.service(), path, &[]).await;
        assert_eq!(first.header(CACHE_CONTROL), Some(expected), "{path}");
        let again = get(files.service(), path, &[(IF_NONE_MATCH, &first.etag())]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert_eq!(again.header(CACHE_CONTROL), Some(expected), "{path}");
    }
}

/// The policy is asked once per file and way of serving it, with the name the request
/// selected: the original's for a precompressed sibling sent in its place, the sibling's own
/// when it is asked for by name.
#[tokio::test]
async fn the_cache_control_policy_is_asked_once_per_file_with_the_name_served() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "identity").unwrap();
    std::fs::write(dir.path().join("app.js.gz"), "pretend gzip").unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let files = StaticFiles::builder(dir.path())
        .precompressed_gzip()
        .cache_control(move |path| {
            counter.fetch_add(1, Ordering::SeqCst);
            http::HeaderValue::from_str(&format!("no-cache, x-for=\"{path}\"")).ok()
        })
        .build()
        .await
        .unwrap();
    for _ in 0..5 {
        for (path, coding, named) in [
            ("/app.js", "identity", "app.js"),
            ("/app.js", "gzip", "app.js"),
            ("/app.js.gz", "identity", "app.js.gz"),
        ] {
            let expected = format!("no-cache, x-for=\"{named}\"");
            let first = get(files.service(), path, &[(ACCEPT_ENCODING, coding)]).await;
            assert_eq!(first.status, StatusCode::OK, "{path} {coding}");
            assert_eq!(
                first.header(CACHE_CONTROL),
                Some(&*expected),
                "{path} {coding}"
            );
            let fields = [(ACCEPT_ENCODING, coding), (IF_NONE_MATCH, &first.etag())];
            let again = get(files.service(), path, &fields).await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path} {coding}");
            assert_eq!(
                again.header(CACHE_CONTROL),
                Some(&*expected),
                "{path} {coding}"
            );
        }
    }
    // app.js as itself, app.js.gz in its place, app.js.gz by name.
    assert_eq!(asked.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn under_refresh_never_a_revalidation_touches_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, "immutable").unwrap();
    let files = StaticFiles::builder(dir.path())
        .refresh(Refresh::Never)
        .build()
        .await
        .unwrap();
    let tag = get(files.service(), "/a.txt", &[]).await.etag();
    // Gone from disk: only a revalidation that neither stats nor opens can still answer 304.
    std::fs::remove_file(&path).unwrap();
    let again = get(files.service(), "/a.txt", &[(IF_NONE_MATCH, &tag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        get(files.service(), "/a.txt", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_manifest_gives_the_tags_hashing_gives() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dist");
    std::fs::create_dir_all(root.join("assets")).unwrap();
    std::fs::write(root.join("assets/app.js"), "listed").unwrap();
    std::fs::write(root.join("unlisted.txt"), "not listed").unwrap();
    // A manifest's digest is the full SHA-256; the tag keeps its first 32 hex digits.
    let listed = ETag::from_content(b"listed").to_string();
    let manifest = dir.path().join("SHA256SUMS");
    std::fs::write(
        &manifest,
        format!(
            "{}{}  ./assets/app.js\n",
            listed.trim_matches('"'),
            "0".repeat(32)
        ),
    )
    .unwrap();
    let files = StaticFiles::builder(&root)
        .refresh(Refresh::Manifest(manifest))
        .build()
        .await
        .unwrap();
    assert_eq!(
        get(files.service(), "/assets/app.js", &[]).await.etag(),
        listed
    );
    assert_eq!(
        get(files.service(), "/unlisted.txt", &[]).await.etag(),
        ETag::from_content(b"not listed").to_string()
    );
    assert_eq!(files.indexed_files(), 2);
}

#[tokio::test]
async fn a_large_file_is_streamed_with_the_tag_of_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &content).unwrap();
    let files = StaticFiles::builder(dir.path()).build().await.unwrap();
    let whole = get(files.service(), "/big.bin", &[]).await;
    assert_eq!(whole.body.len(), content.len());
    assert_eq!(whole.etag(), ETag::from_content(&content).to_string());
    let tail = get(
        files.service(),
        "/big.bin",
        &[(RANGE, "bytes=200000-"), (IF_RANGE, &whole.etag())],
    )
    .await;
    assert_eq!(tail.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&tail.body[..], &content[200_000..]);

    let next: Vec<u8> = content.iter().map(|b| b.wrapping_add(1)).collect();
    common::replace(&dir.path().join("big.bin"), &next);
    let resumed = get(
        files.service(),
        "/big.bin",
        &[(RANGE, "bytes=200000-"), (IF_RANGE, &whole.etag())],
    )
    .await;
    assert_eq!(resumed.status, StatusCode::OK);
    assert_eq!(resumed.body, next);
    assert_eq!(resumed.etag(), ETag::from_content(&next).to_string());
}

#[tokio::test]
async fn preconditions_are_ignored_where_the_answer_is_not_a_file() {
    let dir = site();
    let root = dir.path().join("root");
    let files = static_files(&root).await;
    let tag = get(files.service(), "/docs/page.txt", &[]).await.etag();
    std::fs::remove_file(root.join("docs/page.txt")).unwrap();
    // RFC 9110 §13.2.1: a 404, a 307 or a 405 stays what it is, whatever the preconditions say.
    for headers in [
        vec![(IF_NONE_MATCH, tag.as_str())],
        vec![(IF_MATCH, tag.as_str())],
        vec![(IF_MATCH, "*")],
    ] {
        let gone = get(files.service(), "/docs/page.txt", &headers).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND, "{headers:?}");
        let directory = get(files.service(), "/docs", &headers).await;
        assert_eq!(
            directory.status,
            StatusCode::TEMPORARY_REDIRECT,
            "{headers:?}"
        );
        assert_eq!(directory.header(LOCATION), Some("/docs/"));
        let write = send(files.service(), Method::PUT, "/docs/index.html", &headers).await;
        assert_eq!(write.status, StatusCode::METHOD_NOT_ALLOWED, "{headers:?}");
    }
    // Back again (another version): found, and tagged by its bytes.
    std::fs::write(root.join("docs/page.txt"), "a new page").unwrap();
    let back = get(files.service(), "/docs/page.txt", &[(IF_NONE_MATCH, &tag)]).await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(back.etag(), ETag::from_content(b"a new page").to_string());
}

#[tokio::test]
async fn startup_hashes_every_file_with_bounded_parallelism() {
    let dir = tempfile::tempdir().unwrap();
    for n in 0..40 {
        let sub = dir.path().join(format!("d{}", n % 4));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{n}.txt")), format!("file {n}")).unwrap();
    }
    for threads in [0, 1, 3] {
        let files = StaticFiles::builder(dir.path())
            .hashing_parallelism(threads)
            .build()
            .await
            .unwrap();
        assert_eq!(files.indexed_files(), 40, "{threads} threads");
        let reply = get(files.service(), "/d3/f7.txt", &[(IF_NONE_MATCH, "\"x\"")]).await;
        assert_eq!(reply.etag(), ETag::from_content(b"file 7").to_string());
    }
}

#[test]
fn public_types_are_send_and_the_shared_ones_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<StaticFiles>();
    send_sync::<tower_conditional_fs::ServeFiles>();
    send_sync::<tower_conditional_fs::FileBody>();
    send_sync::<tower_conditional_fs::StaticFilesBuilder>();
    send::<tower_conditional_fs::LookupFuture>();
    send::<tower_conditional_fs::ServeFuture>();
}

/// `ServeDir` looks at the path before its siblings: a directory named without `/` is a 307
/// even when a file beside it has the directory's name and a coding's suffix (`data` and
/// `data.gz`, or the root and `.gz` for `/.`). The source must not answer for the sibling
/// there, or a precondition turns the redirect into a 304 or a 412 (RFC 9110 §13.2.1).
#[tokio::test]
async fn a_directory_beside_a_sibling_named_like_it_is_still_redirected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::write(root.join("data/index.html"), "the data directory").unwrap();
    std::fs::write(root.join("data.gz"), "a gzip file named like the directory").unwrap();
    std::fs::write(root.join(".gz"), "a gzip file named like the root").unwrap();
    // Older than the racy window, so that `Refresh::StatKey` trusts the startup hashes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let serve_dir = ServeDir::new(root).precompressed_gzip();
    for refresh in [Refresh::StatKey, Refresh::Never] {
        let files = StaticFiles::builder(root)
            .precompressed_gzip()
            .refresh(refresh.clone())
            .build()
            .await
            .unwrap();
        for (path, sibling) in [("/data", "data.gz"), ("/.", ".gz")] {
            let bytes = std::fs::read(root.join(sibling)).unwrap();
            let digest = ETag::from_content(&bytes).to_string();
            let coded = format!("\"{}-gzip\"", digest.trim_matches('"'));
            for condition in [
                (IF_NONE_MATCH, coded.as_str()),
                (IF_MATCH, "\"nope\""),
                (IF_NONE_MATCH, "*"),
            ] {
                let headers = [(ACCEPT_ENCODING, "gzip"), condition];
                let theirs = get(serve_dir.clone(), path, &headers).await;
                let ours = get(files.service(), path, &headers).await;
                assert_eq!(theirs.status, StatusCode::TEMPORARY_REDIRECT);
                assert_eq!(
                    shape(&ours),
                    shape(&theirs),
                    "{refresh:?} {path} {headers:?}"
                );
            }
        }
    }
}

/// A sibling added after startup beside an unchanged file (a deploy that starts shipping
/// `.gz` files) changes what a gzip request selects. Under `Refresh::StatKey` the source only
/// stats the file it finds in the index (looking for absent siblings would cost a `stat` per
/// accepted coding on every revalidation), so, as the guide's "Limits" say, revalidations
/// keep the identity copy (still the file's bytes) until a request served a body has the file
/// service find the sibling; from then on they are answered for the sibling.
#[tokio::test]
async fn a_sibling_added_after_startup_is_found_by_the_next_body_not_by_revalidations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "identity").unwrap();
    // Older than the racy window: the startup hash is trusted.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let files = StaticFiles::builder(dir.path())
        .precompressed_gzip()
        .build()
        .await
        .unwrap();
    let gzip = [(ACCEPT_ENCODING, "gzip")];
    let identity = get(files.service(), "/app.js", &gzip).await;
    assert_eq!(identity.header(CONTENT_ENCODING), None);
    std::fs::write(dir.path().join("app.js.gz"), "pretend gzip").unwrap();
    let fields = [(ACCEPT_ENCODING, "gzip"), (IF_NONE_MATCH, &identity.etag())];
    let kept = get(files.service(), "/app.js", &fields).await;
    assert_eq!(kept.status, StatusCode::NOT_MODIFIED);
    assert_eq!(kept.etag(), identity.etag());
    // A request served a body finds the sibling, and the revalidation after it sees it.
    let body = get(files.service(), "/app.js", &gzip).await;
    assert_eq!(body.header(CONTENT_ENCODING), Some("gzip"));
    assert_eq!(&body.body[..], b"pretend gzip");
    let again = get(files.service(), "/app.js", &fields).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header(CONTENT_ENCODING), Some("gzip"));
    assert_eq!(again.etag(), body.etag());
}
