//! The notes example (`examples/notes`), served over TCP on 127.0.0.1 with its SQLite file in
//! the temp directory: 304s for notes and for the list, 428 and 412 for writes, the `Path`
//! rejection for a bad id, the lost races' 412s (a note's, and a create conditional on the list),
//! the opt-in validator cache (a write to any note invalidates the list), CORS and compression,
//! and 8 concurrent writers whose 200 increments all land.

#[path = "../notes/app.rs"]
mod app;
#[path = "../notes/db.rs"]
mod db;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use http::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION,
};
use http::{HeaderName, Method, StatusCode};
use support::{Reply, Server};

const JSON: (HeaderName, &str) = (CONTENT_TYPE, "application/json");

/// A database file of its own for each test, removed when the test ends.
struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> TempDb {
        let path = std::env::temp_dir().join(format!(
            "tower-conditional-notes-{}-{name}.db",
            std::process::id()
        ));
        let db = TempDb(path);
        db.remove();
        db
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = self.0.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

async fn start(name: &str) -> (Server, TempDb) {
    let (server, file, _) = start_with(name, None).await;
    (server, file)
}

/// The app with `validator_cache`, and a handle on its database for writes the layer never sees.
async fn start_with(name: &str, validator_cache: Option<Duration>) -> (Server, TempDb, db::Db) {
    let file = TempDb::new(name);
    let db = db::Db::open(&file.0).expect("open the database");
    let server = Server::start(app::app(db.clone(), validator_cache)).await;
    (server, file, db)
}

async fn send(
    server: &Server,
    method: Method,
    path: &str,
    headers: &[(HeaderName, &str)],
    body: &str,
) -> Reply {
    server.send(method, path, headers, body.to_owned()).await
}

fn json(reply: &Reply) -> serde_json::Value {
    serde_json::from_slice(&reply.body).expect("a JSON body")
}

/// Creates a note and returns its path and ETag.
async fn create(server: &Server, title: &str) -> (String, String) {
    let body = serde_json::json!({ "title": title }).to_string();
    let created = send(server, Method::POST, "/notes", &[JSON], &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    (created.header(LOCATION).to_owned(), created.etag())
}

/// The lines of `examples/notes/app.rs` marked `marker`: between `// {marker} {` and
/// `// {marker} }`, or ending with `// {marker}`.
fn marked_lines(marker: &str) -> usize {
    let source = include_str!("../notes/app.rs");
    let (open, close, tail) = (
        format!("// {marker} {{"),
        format!("// {marker} }}"),
        format!("// {marker}"),
    );
    let mut inside = false;
    let mut counted = 0;
    for line in source.lines().map(str::trim) {
        if line.starts_with(&open) {
            assert!(!inside, "nested {marker} block");
            inside = true;
        } else if line == close {
            inside = false;
        } else if (inside && !line.is_empty()) || line.ends_with(&tail) {
            counted += 1;
        }
    }
    assert!(!inside, "an unclosed {marker} block");
    counted
}

#[test]
fn the_conditional_code_of_the_example_is_at_most_40_lines() {
    let counted = marked_lines("conditional");
    assert!(counted > 20, "the markers are missing: {counted} lines");
    assert!(counted <= 40, "{counted} lines of conditional-request code");
}

#[test]
fn the_opt_in_validator_cache_is_at_most_30_more_lines() {
    let counted = marked_lines("validator cache");
    assert!(counted > 10, "the markers are missing: {counted} lines");
    assert!(counted <= 30, "{counted} lines of validator cache code");
}

#[tokio::test]
async fn notes_revalidate_and_writes_need_the_current_version() {
    let (server, _file) = start("crud").await;
    let (path, etag) = create(&server, "milk").await;

    let read = server.get(&path, &[]).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(
        read.etag(),
        etag,
        "the 201 and the 200 name the same version"
    );
    assert_eq!(json(&read)["title"], "milk");
    let again = server.get(&path, &[(IF_NONE_MATCH, &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.etag(), etag);

    let patch = r#"{"count": 2}"#;
    let blind = send(&server, Method::PATCH, &path, &[JSON], patch).await;
    assert_eq!(blind.status, StatusCode::PRECONDITION_REQUIRED);
    let stale = send(
        &server,
        Method::PATCH,
        &path,
        &[JSON, (IF_MATCH, "\"999\"")],
        patch,
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.etag(), etag, "a 412 names the current version");

    let patched = send(
        &server,
        Method::PATCH,
        &path,
        &[JSON, (IF_MATCH, &etag)],
        patch,
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    assert_eq!(json(&patched)["count"], 2);
    let new_etag = patched.etag();
    assert_ne!(new_etag, etag);
    // The ETag of the write's response is the version it wrote: it revalidates.
    let after = server.get(&path, &[(IF_NONE_MATCH, &new_etag)]).await;
    assert_eq!(after.status, StatusCode::NOT_MODIFIED);

    let replace = r#"{"title": "oat milk", "body": "2 l"}"#;
    let replaced = send(
        &server,
        Method::PUT,
        &path,
        &[JSON, (IF_MATCH, &new_etag)],
        replace,
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{replaced:?}");
    assert_eq!(json(&replaced)["title"], "oat milk");
    let replay = send(
        &server,
        Method::PUT,
        &path,
        &[JSON, (IF_MATCH, &new_etag)],
        replace,
    )
    .await;
    assert_eq!(replay.status, StatusCode::PRECONDITION_FAILED);

    let current = replaced.etag();
    let deleted = send(&server, Method::DELETE, &path, &[(IF_MATCH, &current)], "").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&path, &[]).await.status, StatusCode::NOT_FOUND);
    let gone = send(
        &server,
        Method::PATCH,
        &path,
        &[JSON, (IF_MATCH, &current)],
        patch,
    )
    .await;
    assert_eq!(
        gone.status,
        StatusCode::PRECONDITION_FAILED,
        "If-Match on a missing note"
    );
    let unconditional = send(&server, Method::DELETE, &path, &[], "").await;
    assert_eq!(unconditional.status, StatusCode::NOT_FOUND);
    // `If-None-Match: *` holds on a missing note, but there is no version to write over: 404.
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let absent = send(
            &server,
            method.clone(),
            &path,
            &[JSON, (IF_NONE_MATCH, "*")],
            replace,
        )
        .await;
        assert_eq!(absent.status, StatusCode::NOT_FOUND, "{method}: {absent:?}");
    }
}

#[tokio::test]
async fn a_bad_id_gets_the_path_rejection_and_nothing_is_written() {
    let (server, _file) = start("bad-id").await;
    create(&server, "milk").await;
    let list = server.get("/notes", &[]).await.etag();
    let body = r#"{"title": "x"}"#;
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let refused = send(
            &server,
            method.clone(),
            "/notes/one",
            &[JSON, (IF_MATCH, "\"1\"")],
            body,
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{method}: {refused:?}"
        );
        assert!(
            refused.text().contains("parse"),
            "axum's own message: {}",
            refused.text()
        );
    }
    let revalidated = server.get("/notes/one", &[(IF_NONE_MATCH, "\"1\"")]).await;
    assert_eq!(revalidated.status, StatusCode::BAD_REQUEST);
    // Nothing was written: the list is at the same revision.
    let unchanged = server.get("/notes", &[(IF_NONE_MATCH, &list)]).await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn the_list_revalidates_and_changes_after_any_write_to_a_note() {
    let (server, _file) = start("list").await;
    let (first, first_etag) = create(&server, "one").await;
    let (second, second_etag) = create(&server, "two").await;

    let mut list = server.get("/notes", &[]).await;
    assert_eq!(json(&list).as_array().map(Vec::len), Some(2));
    let patch = r#"{"count": 1}"#;
    let body = r#"{"title": "three"}"#;
    let writes: [(Method, &str, String, &str); 3] = [
        (Method::PATCH, first.as_str(), first_etag, patch),
        (Method::POST, "/notes", String::new(), body),
        // A note's version changes only with its own writes: the create's tag is current.
        (Method::DELETE, second.as_str(), second_etag, ""),
    ];
    for (method, path, etag, body) in writes {
        let before = list.etag();
        let cached = server.get("/notes", &[(IF_NONE_MATCH, &before)]).await;
        assert_eq!(
            cached.status,
            StatusCode::NOT_MODIFIED,
            "before the {method}"
        );
        let mut headers = vec![JSON];
        if !etag.is_empty() {
            headers.push((IF_MATCH, &etag));
        }
        let written = send(&server, method.clone(), path, &headers, body).await;
        assert!(written.status.is_success(), "{method}: {written:?}");
        list = server.get("/notes", &[(IF_NONE_MATCH, &before)]).await;
        assert_eq!(
            list.status,
            StatusCode::OK,
            "the list changed with the {method}"
        );
        assert_ne!(list.etag(), before);
    }
    let titles: Vec<_> = json(&list)
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].clone())
        .collect();
    assert_eq!(titles, ["one", "three"]);
}

#[tokio::test]
async fn a_write_that_loses_the_race_after_the_check_gets_412_naming_the_current_version() {
    let (server, _file) = start("race").await;
    let (path, etag) = create(&server, "milk").await;
    // This PUT has passed the check (hyper sends 100 Continue when the handler reads the body)...
    let held = server
        .held_put(&path, &[JSON, (IF_MATCH, &etag)], r#"{"title": "late"}"#)
        .await;
    // ...when another write takes the version it checked.
    let patch = r#"{"count": 1}"#;
    let first = send(
        &server,
        Method::PATCH,
        &path,
        &[JSON, (IF_MATCH, &etag)],
        patch,
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    let late = held.finish().await;
    assert_eq!(late.status, StatusCode::PRECONDITION_FAILED);
    // The handler read no current tag (`Checked::lost_race`): the layer asked the source again.
    assert_eq!(
        late.etag(),
        first.etag(),
        "the 412 names the version that won"
    );
    let problem = late.problem();
    assert_eq!(problem["condition"], "If-Match");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("another request changed")
    );
    let stored = server.get(&path, &[]).await;
    assert_eq!(
        json(&stored)["title"],
        "milk",
        "the late write changed nothing"
    );
    assert_eq!(stored.etag(), first.etag());
}

#[tokio::test]
async fn eight_writers_times_25_increments_end_at_exactly_200() {
    let (server, _file) = start("writers").await;
    let (path, _) = create(&server, "counter").await;
    // Read-modify-write on the client: each writer reads the count and writes count + 1.
    // Without If-Match and the handler's compare-and-set, two writers that read the same count
    // would both write the same next value, and increments would be lost.
    let writer = |server: Server, path: String| async move {
        let mut refused = 0;
        for _ in 0..25 {
            // Bounded: a writer that lost this many times in a row would be a bug.
            for attempt in 0.. {
                assert!(attempt < 500, "too many lost races");
                let read = server.get(&path, &[]).await;
                let next = json(&read)["count"].as_i64().expect("a count") + 1;
                let patch = serde_json::json!({ "count": next }).to_string();
                let headers = [JSON, (IF_MATCH, read.header(ETAG))];
                let reply = send(&server, Method::PATCH, &path, &headers, &patch).await;
                match reply.status {
                    StatusCode::OK => break,
                    StatusCode::PRECONDITION_FAILED => {
                        // Refused by the layer or by a race lost after its check
                        // (`Checked::lost_race`): either way it names a current version.
                        assert!(
                            reply.headers.contains_key(ETAG),
                            "a 412 without ETag: {reply:?}"
                        );
                        refused += 1;
                    }
                    other => panic!("unexpected {other}: {reply:?}"),
                }
            }
        }
        refused
    };
    let writers: Vec<_> = (0..8)
        .map(|_| tokio::spawn(writer(server.clone(), path.clone())))
        .collect();
    let mut refused = 0;
    let all = async {
        for writer in writers {
            refused += writer.await.expect("a writer finished");
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("the writers finished in time");
    let counter = server.get(&path, &[]).await;
    assert_eq!(
        json(&counter)["count"],
        200,
        "after {refused} refused writes"
    );
    println!("8 writers x 25 increments: 200 written, {refused} refused with 412 and retried");
}

#[tokio::test]
async fn cors_exposes_etag_and_allows_if_match_and_compressed_bodies_revalidate() {
    let (server, _file) = start("cors").await;
    let long = "a note long enough to be worth compressing, ".repeat(4);
    let body = serde_json::json!({ "title": "gzip", "body": long }).to_string();
    let created = send(&server, Method::POST, "/notes", &[JSON], &body).await;
    let path = created.header(LOCATION).to_owned();

    let origin = (http::header::ORIGIN, "https://app.example");
    let preflight = [
        origin.clone(),
        (http::header::ACCESS_CONTROL_REQUEST_METHOD, "PATCH"),
        (
            http::header::ACCESS_CONTROL_REQUEST_HEADERS,
            "if-match,content-type",
        ),
    ];
    let allowed = send(&server, Method::OPTIONS, &path, &preflight, "").await;
    assert_eq!(allowed.status, StatusCode::OK, "{allowed:?}");
    let headers = allowed
        .header(http::header::ACCESS_CONTROL_ALLOW_HEADERS)
        .to_ascii_lowercase();
    assert!(headers.contains("if-match"), "{headers}");

    let gzip = [origin, (ACCEPT_ENCODING, "gzip")];
    let read = server.get(&path, &gzip).await;
    assert_eq!(read.header(CONTENT_ENCODING), "gzip");
    let exposed = read
        .header(http::header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    // The gzip body has a tag of its own, which revalidates with gzip accepted.
    let tag = read.etag();
    assert_ne!(tag, created.etag());
    let again = server
        .get(&path, &[(ACCEPT_ENCODING, "gzip"), (IF_NONE_MATCH, &tag)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    // And a write naming the gzip tag passes: it names the current version.
    let patch = r#"{"count": 1}"#;
    let patched = send(
        &server,
        Method::PATCH,
        &path,
        &[JSON, (IF_MATCH, &tag)],
        patch,
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
}

#[tokio::test]
async fn a_conditional_create_that_loses_the_race_after_the_check_is_not_performed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (server, _file) = start("conditional-create").await;
    let list = server.get("/notes", &[]).await;
    let revision = list.etag();
    // "Add this note if the list is still the one I read": a POST with If-Match on the list,
    // held after the layer's check (hyper says 100 Continue once the handler reads the body).
    let body = r#"{"title": "only if unchanged"}"#;
    let mut held = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    held.set_nodelay(true).unwrap();
    let head = format!(
        "POST /notes HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nIf-Match: {revision}\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    held.write_all(head.as_bytes()).await.unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(held.read(&mut byte).await.unwrap(), 1, "closed before 100");
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100 Continue"), "{interim:?}");
    // Meanwhile another client adds a note: the list is no longer at `revision`.
    create(&server, "someone else's").await;
    held.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    held.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 412"), "{answer}");
    assert!(
        answer.contains("another request changed"),
        "the lost race's refusal: {answer}"
    );
    let list = server.get("/notes", &[]).await;
    let named = format!("etag: {}", list.etag()).to_ascii_lowercase();
    assert!(
        answer.to_ascii_lowercase().contains(&named),
        "the 412 names the list's current version: {answer}"
    );
    assert_eq!(
        json(&list).as_array().map(Vec::len),
        Some(1),
        "only the other note: {list:?}"
    );
    // The same create against the list's current version is performed.
    let current = list.etag();
    let created = send(
        &server,
        Method::POST,
        "/notes",
        &[JSON, (IF_MATCH, &current)],
        body,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let stale = send(
        &server,
        Method::POST,
        "/notes",
        &[JSON, (IF_MATCH, &current)],
        body,
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{stale:?}");
}

#[tokio::test]
async fn with_the_cache_a_write_to_any_note_makes_the_next_list_revalidation_a_200_at_once() {
    // An hour: a 200 below comes from an invalidation, never from the entry's age.
    let (server, _file, db) = start_with("cached-list", Some(Duration::from_secs(3600))).await;
    let (first, _) = create(&server, "one").await;
    let (second, _) = create(&server, "two").await;
    let patch = r#"{"count": 1}"#;
    let body = r#"{"title": "three"}"#;
    let writes = [
        (Method::PATCH, first.as_str(), patch),
        (Method::PUT, first.as_str(), body),
        (Method::POST, "/notes", body),
        (Method::DELETE, second.as_str(), ""),
    ];
    for (method, path, body) in writes {
        let list = server.get("/notes", &[]).await.etag();
        let filled = server.get("/notes", &[(IF_NONE_MATCH, &list)]).await;
        assert_eq!(
            filled.status,
            StatusCode::NOT_MODIFIED,
            "before the {method}"
        );
        // A write the layer never sees (another process on the file, say): the list changed,
        // but its revalidation is still answered from the cache, without asking the database.
        db.create(
            db::NewNote {
                title: "unseen".to_owned(),
                body: String::new(),
            },
            None,
        )
        .await
        .expect("a write behind the layer");
        let warm = server.get("/notes", &[(IF_NONE_MATCH, &list)]).await;
        assert_eq!(
            warm.status,
            StatusCode::NOT_MODIFIED,
            "the cache answered before the {method}"
        );
        let mut headers = vec![JSON];
        let etag;
        if method != Method::POST {
            etag = server.get(path, &[]).await.etag();
            headers.push((IF_MATCH, etag.as_str()));
        }
        let written = send(&server, method.clone(), path, &headers, body).await;
        assert!(written.status.is_success(), "{method}: {written:?}");
        let after = server.get("/notes", &[(IF_NONE_MATCH, &list)]).await;
        assert_eq!(
            after.status,
            StatusCode::OK,
            "the {method} of {path} invalidated the list"
        );
        assert_ne!(after.etag(), list);
    }
}

#[tokio::test]
async fn the_cache_keys_a_note_by_its_decoded_id_so_a_percent_encoded_write_invalidates_it() {
    let (server, _file, _db) = start_with("cached-encoded", Some(Duration::from_secs(3600))).await;
    let (path, etag) = create(&server, "one").await;
    assert_eq!(path, "/notes/1");
    let list = server.get("/notes", &[]).await.etag();
    for (target, tag) in [(path.as_str(), &etag), ("/notes", &list)] {
        let filled = server.get(target, &[(IF_NONE_MATCH, tag)]).await;
        assert_eq!(filled.status, StatusCode::NOT_MODIFIED, "{target}");
    }
    // `%31` is `1` to axum's `Path`: the same note, so the same cache entries.
    let patched = send(
        &server,
        Method::PATCH,
        "/notes/%31",
        &[JSON, (IF_MATCH, &etag)],
        r#"{"count": 1}"#,
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    for (target, tag) in [(path.as_str(), &etag), ("/notes", &list)] {
        let after = server.get(target, &[(IF_NONE_MATCH, tag)]).await;
        assert_eq!(after.status, StatusCode::OK, "{target} after the write");
    }
}

#[tokio::test]
async fn with_the_cache_a_write_whose_client_went_away_still_invalidates_the_note() {
    use tokio::io::AsyncWriteExt;
    // An hour: a 304 below can only come from an entry the write should have invalidated.
    let (server, file, db) = start_with("cached-cancelled", Some(Duration::from_secs(3600))).await;
    let (path, etag) = create(&server, "one").await;
    let filled = server.get(&path, &[(IF_NONE_MATCH, &etag)]).await;
    assert_eq!(
        filled.status,
        StatusCode::NOT_MODIFIED,
        "the cache is filled"
    );
    // Another connection holds SQLite's write lock, so the PATCH below waits in its handler
    // (busy_timeout) after the layer's check.
    let blocker = rusqlite::Connection::open(&file.0).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let body = r#"{"count": 1}"#;
    let mut client = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nIf-Match: {etag}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    client.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The client gives up: hyper drops the request's future, the layer never sees a response.
    drop(client);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The lock goes; the write already on the blocking pool commits.
    blocker.execute_batch("ROLLBACK").unwrap();
    let mut written = false;
    for _ in 0..50 {
        let note = db.get(1).await.unwrap().expect("note 1");
        if note.count == 1 {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(written, "the PATCH the layer passed was committed");
    let after = server.get(&path, &[(IF_NONE_MATCH, &etag)]).await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "note 1 changed (count 1) through the layer, yet its old tag still revalidates"
    );
}
