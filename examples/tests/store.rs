//! The store example (`examples/store/app.rs`) end to end: the real axum router, served on a
//! loopback socket, driven by a real HTTP client. One test per step of `examples/demo.rs`, then
//! the edges: concurrency (no lost update, exactly one create, racing deletes), HEAD, 404, 400,
//! ranges.
//!
//! Every test runs three times, over each storage (`memory::`, `sqlite::`, `postgres::`; see
//! [`on_every_backend!`]). The PostgreSQL runs need `DATABASE_URL` to name a PostgreSQL database
//! (`bash .ci/run` starts one); without it they pass without running and say so.

#[path = "../store/app.rs"]
mod app;
mod backends;
#[path = "../store/database.rs"]
mod database;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;

use bytes::Bytes;
use http::StatusCode;
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_MATCH,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, RANGE, VARY,
};
use http::{HeaderName, Method};
use tokio::task::JoinSet;

use backends::unix_now;
use support::{Reply, Server};

/// The item's content and ETag, read with a plain GET.
async fn current(server: &Server, path: &str) -> (String, String) {
    let reply = server.get(path, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    (reply.text().to_owned(), reply.etag())
}

fn assert_status(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{reply:?}");
}

// ---------------------------------------------------------------------------------------------
// The demo's story, step by step.

async fn create_only_put_creates_a_missing_item_with_201_and_its_validators(server: Server) {
    let reply = server
        .put("/items/greeting", &[(IF_NONE_MATCH, "*")], "hello")
        .await;
    assert_status(&reply, StatusCode::CREATED);
    assert_eq!(reply.etag(), "\"2cf24dba5fb0a30e26e83b2ac5b9e29e\"");
    assert!(reply.headers.contains_key(LAST_MODIFIED));
    assert_eq!(
        current(&server, "/items/greeting").await,
        ("hello".to_owned(), reply.etag())
    );
}

async fn unconditional_put_creates_a_missing_item(server: Server) {
    let reply = server.put("/items/fresh", &[], "new").await;
    assert_status(&reply, StatusCode::CREATED);
    assert_eq!(current(&server, "/items/fresh").await.0, "new");
}

async fn get_returns_content_with_etag_last_modified_and_cache_headers(server: Server) {
    let etag = server.create("/items/doc", "some bytes").await;
    let reply = server.get("/items/doc", &[]).await;
    assert_status(&reply, StatusCode::OK);
    assert_eq!(reply.text(), "some bytes");
    assert_eq!(reply.etag(), etag);
    assert_eq!(reply.header(CONTENT_TYPE), "application/octet-stream");
    assert_eq!(reply.header(CACHE_CONTROL), "no-cache");
    assert_eq!(reply.header(VARY), "Accept-Encoding");
    assert_eq!(reply.header(ACCEPT_RANGES), "bytes");
    let modified: httpdate::HttpDate = reply.header(LAST_MODIFIED).parse().expect("a date");
    let age = std::time::SystemTime::now()
        .duration_since(modified.into())
        .expect("not in the future");
    assert!(age.as_secs() < 60, "Last-Modified is the time of the write");
}

async fn revalidation_with_the_current_etag_gets_304_with_cache_headers_and_no_body(
    server: Server,
) {
    let etag = server.create("/items/doc", "cached").await;
    let reply = server.get("/items/doc", &[(IF_NONE_MATCH, &etag)]).await;
    assert_status(&reply, StatusCode::NOT_MODIFIED);
    assert!(reply.body.is_empty());
    assert_eq!(reply.etag(), etag);
    assert_eq!(reply.header(CACHE_CONTROL), "no-cache");
    assert_eq!(reply.header(VARY), "Accept-Encoding");
    assert!(!reply.headers.contains_key(CONTENT_TYPE));

    // Weak comparison for If-None-Match: the weak form of the tag matches too.
    let weak = format!("W/{etag}");
    let reply = server.get("/items/doc", &[(IF_NONE_MATCH, &weak)]).await;
    assert_status(&reply, StatusCode::NOT_MODIFIED);

    // If-Modified-Since with the Last-Modified date: not modified either.
    let modified = server.get("/items/doc", &[]).await;
    let date = modified.header(LAST_MODIFIED);
    let reply = server.get("/items/doc", &[(IF_MODIFIED_SINCE, date)]).await;
    assert_status(&reply, StatusCode::NOT_MODIFIED);
}

async fn revalidation_with_an_old_etag_gets_the_full_200(server: Server) {
    let old = server.create("/items/doc", "v1").await;
    server.put("/items/doc", &[(IF_MATCH, &old)], "v2").await;
    let reply = server.get("/items/doc", &[(IF_NONE_MATCH, &old)]).await;
    assert_status(&reply, StatusCode::OK);
    assert_eq!(reply.text(), "v2");
}

async fn second_editor_of_the_same_version_gets_412_with_the_current_etag(server: Server) {
    let v1 = server.create("/items/doc", "original").await;

    let alice = server.put("/items/doc", &[(IF_MATCH, &v1)], "alice").await;
    assert_status(&alice, StatusCode::NO_CONTENT);
    assert!(alice.body.is_empty());
    let v2 = alice.etag();
    assert_ne!(v2, v1);
    assert!(alice.headers.contains_key(LAST_MODIFIED));

    let bob = server.put("/items/doc", &[(IF_MATCH, &v1)], "bob").await;
    assert_status(&bob, StatusCode::PRECONDITION_FAILED);
    assert_eq!(bob.etag(), v2, "the 412 carries the current ETag");
    assert!(bob.headers.contains_key(LAST_MODIFIED));
    assert_eq!(bob.problem()["condition"], "If-Match");

    assert_eq!(
        current(&server, "/items/doc").await,
        ("alice".to_owned(), v2)
    );
}

async fn loser_refetches_and_retries_with_the_current_etag(server: Server) {
    let v1 = server.create("/items/doc", "original").await;
    server.put("/items/doc", &[(IF_MATCH, &v1)], "alice").await;
    let lost = server.put("/items/doc", &[(IF_MATCH, &v1)], "bob").await;
    assert_status(&lost, StatusCode::PRECONDITION_FAILED);

    let (content, v2) = current(&server, "/items/doc").await;
    assert_eq!(v2, lost.etag(), "the 412's ETag is the one a refetch gets");
    let merged = format!("{content} + bob");
    let retry = server.put("/items/doc", &[(IF_MATCH, &v2)], merged).await;
    assert_status(&retry, StatusCode::NO_CONTENT);
    assert_eq!(
        current(&server, "/items/doc").await,
        ("alice + bob".to_owned(), retry.etag())
    );
}

async fn replacing_or_deleting_without_a_precondition_gets_428_and_changes_nothing(server: Server) {
    let etag = server.create("/items/doc", "keep me").await;

    let put = server.put("/items/doc", &[], "blind").await;
    assert_status(&put, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(put.header(CACHE_CONTROL), "no-store");
    assert!(
        put.problem()["detail"]
            .as_str()
            .unwrap()
            .contains("If-Match")
    );

    // If-None-Match with some other tag is a precondition, but not one naming this version.
    let put = server
        .put("/items/doc", &[(IF_NONE_MATCH, "\"other\"")], "blind")
        .await;
    assert_status(&put, StatusCode::PRECONDITION_REQUIRED);

    let delete = server.delete("/items/doc", &[]).await;
    assert_status(&delete, StatusCode::PRECONDITION_REQUIRED);

    assert_eq!(
        current(&server, "/items/doc").await,
        ("keep me".to_owned(), etag)
    );
}

async fn create_only_put_on_an_existing_key_gets_412_and_changes_nothing(server: Server) {
    let etag = server.create("/items/doc", "first").await;
    let reply = server
        .put("/items/doc", &[(IF_NONE_MATCH, "*")], "second")
        .await;
    assert_status(&reply, StatusCode::PRECONDITION_FAILED);
    assert_eq!(reply.etag(), etag);
    assert_eq!(reply.problem()["condition"], "If-None-Match");
    assert_eq!(
        current(&server, "/items/doc").await,
        ("first".to_owned(), etag)
    );
}

async fn resumed_download_with_a_current_if_range_gets_206(server: Server) {
    let etag = server.create("/items/file", "0123456789abcdef").await;

    let first = server.get("/items/file", &[(RANGE, "bytes=0-9")]).await;
    assert_status(&first, StatusCode::PARTIAL_CONTENT);
    assert_eq!(first.text(), "0123456789");
    assert_eq!(first.header(CONTENT_RANGE), "bytes 0-9/16");

    let rest = server
        .get("/items/file", &[(RANGE, "bytes=10-"), (IF_RANGE, &etag)])
        .await;
    assert_status(&rest, StatusCode::PARTIAL_CONTENT);
    assert_eq!(rest.text(), "abcdef");
    assert_eq!(rest.header(CONTENT_RANGE), "bytes 10-15/16");
    assert_eq!(rest.header(CONTENT_LENGTH), "6");
    assert_eq!(rest.etag(), etag);
}

async fn if_range_with_a_stale_weak_or_date_validator_gets_the_full_200(server: Server) {
    let old = server.create("/items/file", "0123456789abcdef").await;
    let new = server
        .put("/items/file", &[(IF_MATCH, &old)], "ABCDEFGHIJKLMNOP")
        .await
        .etag();

    // Stale tag: the rest of the old version would corrupt the download; send it all.
    let stale = server
        .get("/items/file", &[(RANGE, "bytes=10-"), (IF_RANGE, &old)])
        .await;
    assert_status(&stale, StatusCode::OK);
    assert_eq!(stale.text(), "ABCDEFGHIJKLMNOP");
    assert!(!stale.headers.contains_key(CONTENT_RANGE));

    // Weak form of the current tag: If-Range needs a strong match.
    let weak = format!("W/{new}");
    let reply = server
        .get("/items/file", &[(RANGE, "bytes=10-"), (IF_RANGE, &weak)])
        .await;
    assert_status(&reply, StatusCode::OK);
    assert_eq!(reply.text(), "ABCDEFGHIJKLMNOP");

    // The current Last-Modified: a weak validator (two writes can share a second), so false.
    let date = stale.header(LAST_MODIFIED).to_owned();
    let reply = server
        .get("/items/file", &[(RANGE, "bytes=10-"), (IF_RANGE, &date)])
        .await;
    assert_status(&reply, StatusCode::OK);

    // And the current strong tag still works.
    let reply = server
        .get("/items/file", &[(RANGE, "bytes=10-"), (IF_RANGE, &new)])
        .await;
    assert_status(&reply, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.text(), "KLMNOP");
}

// ---------------------------------------------------------------------------------------------
// Lost-update prevention under concurrency.

/// 16 clients x 50 increments of one counter, each a GET then a PUT with If-Match, retried on
/// 412. If any PUT succeeded with a stale tag, two increments would have read the same value and
/// the final count would fall short of the number of successful PUTs.
async fn concurrent_increments_with_if_match_lose_no_update(server: Server) {
    const TASKS: usize = 16;
    const ROUNDS: usize = 50;
    server.create("/items/counter", "0").await;

    let mut tasks = JoinSet::new();
    for _ in 0..TASKS {
        let server = server.clone();
        tasks.spawn(async move {
            let mut read_values = Vec::new();
            let mut refused = 0usize;
            for _ in 0..ROUNDS {
                loop {
                    let (text, etag) = current(&server, "/items/counter").await;
                    let value: u64 = text.parse().expect("a number");
                    let next = (value + 1).to_string();
                    let reply = server
                        .put("/items/counter", &[(IF_MATCH, &etag)], next)
                        .await;
                    match reply.status {
                        StatusCode::NO_CONTENT => {
                            read_values.push(value);
                            break;
                        }
                        StatusCode::PRECONDITION_FAILED => {
                            assert_ne!(reply.etag(), etag, "a 412 names a newer version");
                            refused += 1;
                        }
                        _ => panic!("unexpected {reply:?}"),
                    }
                }
            }
            (read_values, refused)
        });
    }

    let mut successes = Vec::new();
    let mut refused = 0;
    while let Some(result) = tasks.join_next().await {
        let (values, task_refused) = result.expect("task finished");
        successes.extend(values);
        refused += task_refused;
    }

    let (text, _) = current(&server, "/items/counter").await;
    let final_value: usize = text.parse().unwrap();
    assert_eq!(successes.len(), TASKS * ROUNDS, "one 204 per round");
    assert_eq!(final_value, successes.len(), "no lost update");
    // Every successful PUT was based on a distinct version: 0, 1, ..., n - 1.
    let distinct: BTreeSet<u64> = successes.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        successes.len(),
        "no two PUTs won with one tag"
    );
    assert_eq!(distinct.last().copied(), Some(final_value as u64 - 1));
    eprintln!("{} increments, {refused} refused with 412", successes.len());
}

async fn racing_create_only_puts(server: Server, writers: usize) {
    let mut tasks = JoinSet::new();
    for writer in 0..writers {
        let server = server.clone();
        tasks.spawn(async move {
            let content = format!("writer {writer}");
            let reply = server
                .put("/items/race", &[(IF_NONE_MATCH, "*")], content.clone())
                .await;
            (content, reply)
        });
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (content, reply) = result.expect("task finished");
        match reply.status {
            StatusCode::CREATED => winners.push((content, reply.etag())),
            StatusCode::PRECONDITION_FAILED => losers.push(reply),
            _ => panic!("unexpected {reply:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins");
    assert_eq!(losers.len(), writers - 1);
    let (content, etag) = winners.pop().unwrap();
    for loser in &losers {
        assert_eq!(loser.etag(), etag, "a 412 names the winner's version");
    }
    assert_eq!(current(&server, "/items/race").await, (content, etag));
}

async fn two_concurrent_create_only_puts_exactly_one_gets_201(server: Server) {
    racing_create_only_puts(server, 2).await;
}

async fn eight_concurrent_create_only_puts_exactly_one_gets_201(server: Server) {
    racing_create_only_puts(server, 8).await;
}

/// Four DELETEs and four PUTs of one item, all with the same `If-Match`, at once: exactly one
/// write wins. The others get 412 (the item changed or went away since their tag was current),
/// or 404 for a DELETE checked after another DELETE won (preconditions are ignored on a missing
/// item). The stored state is the winner's.
async fn racing_deletes_and_replaces_with_one_tag_exactly_one_wins(server: Server) {
    for round in 0..8 {
        let path = format!("/items/mixed-{round}");
        let etag = server.create(&path, "original").await;
        let mut tasks = JoinSet::new();
        for writer in 0..8 {
            let (server, path, etag) = (server.clone(), path.clone(), etag.clone());
            tasks.spawn(async move {
                if writer % 2 == 0 {
                    let reply = server.delete(&path, &[(IF_MATCH, &etag)]).await;
                    (None, reply)
                } else {
                    let content = format!("writer {writer}");
                    let reply = server
                        .put(&path, &[(IF_MATCH, &etag)], content.clone())
                        .await;
                    (Some(content), reply)
                }
            });
        }
        let mut winners = Vec::new();
        while let Some(result) = tasks.join_next().await {
            let (content, reply) = result.expect("task finished");
            match reply.status {
                StatusCode::NO_CONTENT => winners.push((content, reply)),
                StatusCode::PRECONDITION_FAILED => {}
                StatusCode::NOT_FOUND => assert!(content.is_none(), "only a DELETE: {reply:?}"),
                _ => panic!("unexpected {reply:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one write wins: {winners:?}");
        let after = server.get(&path, &[]).await;
        match winners.pop().unwrap() {
            (None, _) => assert_status(&after, StatusCode::NOT_FOUND),
            (Some(content), reply) => {
                assert_status(&after, StatusCode::OK);
                assert_eq!(
                    (after.text(), after.etag()),
                    (content.as_str(), reply.etag())
                );
            }
        }
    }
}

// The races above may be settled by the layer's check or by the handler's compare-and-set. The
// tests below hold a PUT between the two (see `Server::held_put`) so the handler's
// compare-and-set is what must refuse it.

async fn put_that_passed_if_match_loses_to_a_write_that_landed_first(server: Server) {
    let v1 = server.create("/items/doc", "v1").await;

    let slow = server
        .held_put("/items/doc", &[(IF_MATCH, &v1)], "slow writer")
        .await;
    let fast = server
        .put("/items/doc", &[(IF_MATCH, &v1)], "fast writer")
        .await;
    assert_status(&fast, StatusCode::NO_CONTENT);
    let v2 = fast.etag();

    let slow = slow.finish().await;
    assert_status(&slow, StatusCode::PRECONDITION_FAILED);
    assert_eq!(slow.etag(), v2);
    assert_eq!(slow.problem()["condition"], "If-Match");
    assert_eq!(
        current(&server, "/items/doc").await,
        ("fast writer".to_owned(), v2)
    );
}

async fn put_that_passed_if_unmodified_since_loses_to_a_write_that_landed_first(server: Server) {
    server.create("/items/doc", "v1").await;
    let date = server
        .get("/items/doc", &[])
        .await
        .header(LAST_MODIFIED)
        .to_owned();

    let slow = server
        .held_put("/items/doc", &[(IF_UNMODIFIED_SINCE, &date)], "slow writer")
        .await;
    let (_, v1) = current(&server, "/items/doc").await;
    let fast = server
        .put("/items/doc", &[(IF_MATCH, &v1)], "fast writer")
        .await;
    assert_status(&fast, StatusCode::NO_CONTENT);

    // The date may not tell the versions apart; the compare-and-set on the checked tag does.
    let slow = slow.finish().await;
    assert_status(&slow, StatusCode::PRECONDITION_FAILED);
    assert_eq!(slow.etag(), fast.etag());
    assert_eq!(slow.problem()["condition"], "If-Unmodified-Since");
    assert_eq!(current(&server, "/items/doc").await.0, "fast writer");
}

async fn create_only_put_that_passed_loses_to_a_create_that_landed_first(server: Server) {
    let slow = server
        .held_put("/items/new", &[(IF_NONE_MATCH, "*")], "slow")
        .await;
    let fast = server.create("/items/new", "fast").await;

    let slow = slow.finish().await;
    assert_status(&slow, StatusCode::PRECONDITION_FAILED);
    assert_eq!(slow.etag(), fast);
    assert_eq!(slow.problem()["condition"], "If-None-Match");
    assert_eq!(
        current(&server, "/items/new").await,
        ("fast".to_owned(), fast)
    );
}

async fn unconditional_create_that_loses_to_another_create_gets_428(server: Server) {
    let slow = server.held_put("/items/new", &[], "slow").await;
    let fast = server.create("/items/new", "fast").await;

    let slow = slow.finish().await;
    assert_status(&slow, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(
        current(&server, "/items/new").await,
        ("fast".to_owned(), fast)
    );
}

// ---------------------------------------------------------------------------------------------
// Edges.

async fn stale_if_match_put_leaves_content_and_etag_unchanged(server: Server) {
    let v1 = server.create("/items/doc", "v1").await;
    let v2 = server
        .put("/items/doc", &[(IF_MATCH, &v1)], "v2")
        .await
        .etag();
    // v2 was written in v1's second, so it is dated a second ahead: read its stored date.
    let before = backends::settled_get(&server, "/items/doc").await;

    for stale in [v1.clone(), format!("W/{v2}"), "\"nonsense\"".to_owned()] {
        let reply = server.put("/items/doc", &[(IF_MATCH, &stale)], "v3").await;
        assert_status(&reply, StatusCode::PRECONDITION_FAILED);
        assert_eq!(reply.etag(), v2);
    }
    let reply = server.delete("/items/doc", &[(IF_MATCH, &v1)]).await;
    assert_status(&reply, StatusCode::PRECONDITION_FAILED);

    let after = server.get("/items/doc", &[]).await;
    assert_eq!(after.text(), "v2");
    assert_eq!(after.etag(), v2);
    assert_eq!(
        after.header(LAST_MODIFIED),
        before.header(LAST_MODIFIED),
        "not even touched"
    );
}

async fn malformed_if_match_on_a_write_gets_400_and_changes_nothing(server: Server) {
    let etag = server.create("/items/doc", "v1").await;
    let reply = server
        .put("/items/doc", &[(IF_MATCH, "not-a-tag")], "v2")
        .await;
    assert_status(&reply, StatusCode::BAD_REQUEST);
    assert_eq!(reply.problem()["condition"], "If-Match");
    assert_eq!(
        current(&server, "/items/doc").await,
        ("v1".to_owned(), etag)
    );
}

async fn put_with_if_unmodified_since_the_last_modified_date_replaces(server: Server) {
    server.create("/items/doc", "v1").await;
    let date = server
        .get("/items/doc", &[])
        .await
        .header(LAST_MODIFIED)
        .to_owned();
    let reply = server
        .put("/items/doc", &[(IF_UNMODIFIED_SINCE, &date)], "v2")
        .await;
    assert_status(&reply, StatusCode::NO_CONTENT);
    assert_eq!(current(&server, "/items/doc").await.0, "v2");

    let long_ago = "Sun, 06 Nov 1994 08:49:37 GMT";
    let reply = server
        .put("/items/doc", &[(IF_UNMODIFIED_SINCE, long_ago)], "v3")
        .await;
    assert_status(&reply, StatusCode::PRECONDITION_FAILED);
    assert_eq!(current(&server, "/items/doc").await.0, "v2");
}

async fn delete_with_the_current_etag_removes_the_item(server: Server) {
    let etag = server.create("/items/doc", "bye").await;
    let reply = server.delete("/items/doc", &[(IF_MATCH, &etag)]).await;
    assert_status(&reply, StatusCode::NO_CONTENT);
    assert_status(&server.get("/items/doc", &[]).await, StatusCode::NOT_FOUND);
    // The key is free again: a create-only PUT succeeds.
    server.create("/items/doc", "again").await;
}

async fn delete_of_a_missing_item_is_404_whatever_the_preconditions(server: Server) {
    for headers in [
        vec![],
        vec![(IF_MATCH, "\"x\"")],
        vec![(IF_MATCH, "*")],
        vec![(IF_UNMODIFIED_SINCE, "Sun, 06 Nov 1994 08:49:37 GMT")],
    ] {
        let reply = server.delete("/items/none", &headers).await;
        assert_status(&reply, StatusCode::NOT_FOUND);
    }
}

async fn head_has_the_get_headers_and_no_body(server: Server) {
    let etag = server.create("/items/doc", "twelve bytes").await;
    let get = server.get("/items/doc", &[]).await;
    let head = server
        .send(Method::HEAD, "/items/doc", &[], Bytes::new())
        .await;
    assert_status(&head, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.etag(), etag);
    for name in [
        ETAG,
        LAST_MODIFIED,
        CONTENT_TYPE,
        CACHE_CONTROL,
        VARY,
        ACCEPT_RANGES,
    ] {
        assert_eq!(head.headers.get(&name), get.headers.get(&name), "{name}");
    }
    if let Some(length) = head.headers.get(CONTENT_LENGTH) {
        assert_eq!(length, "12");
    }

    let revalidated = server
        .send(
            Method::HEAD,
            "/items/doc",
            &[(IF_NONE_MATCH, &etag)],
            Bytes::new(),
        )
        .await;
    assert_status(&revalidated, StatusCode::NOT_MODIFIED);
    assert_eq!(revalidated.etag(), etag);

    // Range is defined for GET only.
    let ranged = server
        .send(
            Method::HEAD,
            "/items/doc",
            &[(RANGE, "bytes=0-1")],
            Bytes::new(),
        )
        .await;
    assert_status(&ranged, StatusCode::OK);
}

async fn get_of_a_missing_item_is_404_even_with_preconditions(server: Server) {
    let headers: [&[(HeaderName, &str)]; 5] = [
        &[],
        &[(IF_MATCH, "\"x\"")],
        &[(IF_MATCH, "*")],
        &[(IF_NONE_MATCH, "*")],
        &[(IF_UNMODIFIED_SINCE, "Sun, 06 Nov 1994 08:49:37 GMT")],
    ];
    for headers in headers {
        let reply = server.get("/items/none", headers).await;
        assert_status(&reply, StatusCode::NOT_FOUND);
        let head = server
            .send(Method::HEAD, "/items/none", headers, Bytes::new())
            .await;
        assert_status(&head, StatusCode::NOT_FOUND);
    }
}

async fn invalid_keys_get_400_before_any_precondition_is_looked_at(server: Server) {
    let too_long = format!("/items/{}", "k".repeat(65));
    for path in [
        "/items/a.b",
        "/items/a%20b",
        "/items/%C3%A9",
        too_long.as_str(),
    ] {
        let reply = server.get(path, &[]).await;
        assert_status(&reply, StatusCode::BAD_REQUEST);
        assert!(reply.problem()["detail"].as_str().unwrap().contains("64"));
        // Not 428: the key is checked first.
        assert_status(&server.put(path, &[], "x").await, StatusCode::BAD_REQUEST);
        // Not the layer's 400 for a malformed If-Match: the key check's.
        let reply = server.put(path, &[(IF_MATCH, "garbage")], "x").await;
        assert_status(&reply, StatusCode::BAD_REQUEST);
        assert!(reply.problem().get("condition").is_none());
    }

    let longest = format!("/items/{}", "k".repeat(64));
    assert_status(&server.put(&longest, &[], "ok").await, StatusCode::CREATED);
    let varied = "/items/Az09_-";
    assert_status(&server.put(varied, &[], "ok").await, StatusCode::CREATED);
}

async fn single_byte_ranges_get_206_with_content_range(server: Server) {
    let etag = server.create("/items/file", "0123456789").await;
    let cases = [
        ("bytes=2-5", "2345", "bytes 2-5/10"),
        ("bytes=7-", "789", "bytes 7-9/10"),
        ("bytes=-3", "789", "bytes 7-9/10"),
        ("bytes=-30", "0123456789", "bytes 0-9/10"),
        ("bytes=8-100", "89", "bytes 8-9/10"),
        ("bytes=0-0", "0", "bytes 0-0/10"),
        ("BYTES=1-1", "1", "bytes 1-1/10"),
    ];
    for (range, body, content_range) in cases {
        let reply = server.get("/items/file", &[(RANGE, range)]).await;
        assert_status(&reply, StatusCode::PARTIAL_CONTENT);
        assert_eq!(reply.text(), body, "{range}");
        assert_eq!(reply.header(CONTENT_RANGE), content_range, "{range}");
        assert_eq!(reply.etag(), etag);
    }
}

async fn unsatisfiable_ranges_get_416_with_the_length(server: Server) {
    server.create("/items/file", "0123456789").await;
    for range in ["bytes=10-", "bytes=10-20", "bytes=-0"] {
        let reply = server.get("/items/file", &[(RANGE, range)]).await;
        assert_status(&reply, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(reply.header(CONTENT_RANGE), "bytes */10", "{range}");
    }
    server.create("/items/empty", "").await;
    let reply = server.get("/items/empty", &[(RANGE, "bytes=0-")]).await;
    assert_status(&reply, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(reply.header(CONTENT_RANGE), "bytes */0");
}

async fn multiple_or_malformed_ranges_are_ignored(server: Server) {
    server.create("/items/file", "0123456789").await;
    for range in [
        "bytes=0-1,4-5",
        "bytes=5-2",
        "bytes=x-",
        "bytes=-",
        "items=0-1",
        "bytes 0-1",
        "bytes=1-2-3",
    ] {
        let reply = server.get("/items/file", &[(RANGE, range)]).await;
        assert_status(&reply, StatusCode::OK);
        assert_eq!(reply.text(), "0123456789", "{range}");
        assert!(!reply.headers.contains_key(CONTENT_RANGE));
    }
}

async fn other_methods_get_405(server: Server) {
    server.create("/items/doc", "x").await;
    let reply = server.send(Method::POST, "/items/doc", &[], "y").await;
    assert_status(&reply, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(current(&server, "/items/doc").await.0, "x");
}

/// An `If-Unmodified-Since` that is not an HTTP-date is ignored (RFC 9110 §13.1.4), so it
/// protects nothing: the write is as unconditional as one without the field, and gets 428.
async fn put_with_an_invalid_if_unmodified_since_date_gets_428(server: Server) {
    let etag = server.create("/items/doc", "keep me").await;
    let reply = server
        .put(
            "/items/doc",
            &[(IF_UNMODIFIED_SINCE, "not a date")],
            "blind",
        )
        .await;
    assert_status(&reply, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(
        current(&server, "/items/doc").await,
        ("keep me".to_owned(), etag)
    );
}

/// Two writes within one second, then a write naming the first version's date: HTTP dates
/// have one-second resolution, yet the date must not let the write replace the second version.
/// Once the clock has passed the second version's date, that date is sent and works.
async fn two_writes_in_one_second_then_if_unmodified_since_naming_the_first_does_not_write(
    server: Server,
) {
    for attempt in 0..5 {
        let path = format!("/items/doc-{attempt}");
        let start = unix_now();
        let v1 = server.create(&path, "v1").await;
        let first_date = server
            .get(&path, &[])
            .await
            .header(LAST_MODIFIED)
            .to_owned();
        let second = server.put(&path, &[(IF_MATCH, &v1)], "v2").await;
        assert_status(&second, StatusCode::NO_CONTENT);
        if unix_now() != start {
            continue; // the writes straddled a second: not the case under test, try again
        }
        let late = server
            .put(&path, &[(IF_UNMODIFIED_SINCE, &first_date)], "lost v2")
            .await;
        assert_status(&late, StatusCode::PRECONDITION_FAILED);
        assert_eq!(
            late.etag(),
            second.etag(),
            "the 412 names the second version"
        );
        assert_eq!(current(&server, &path).await.0, "v2");

        // The second version is dated a second later; once that second has come, its date is
        // sent as it is stored, and a write naming it goes through.
        while unix_now() <= start + 1 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let second_date = server
            .get(&path, &[])
            .await
            .header(LAST_MODIFIED)
            .to_owned();
        assert_ne!(second_date, first_date, "each version has its own date");
        let next = server
            .put(&path, &[(IF_UNMODIFIED_SINCE, &second_date)], "v3")
            .await;
        assert_status(&next, StatusCode::NO_CONTENT);
        return;
    }
    panic!("five attempts, each across a second boundary");
}

on_every_backend! {
    two_writes_in_one_second_then_if_unmodified_since_naming_the_first_does_not_write,
    racing_deletes_and_replaces_with_one_tag_exactly_one_wins,
    create_only_put_creates_a_missing_item_with_201_and_its_validators,
    unconditional_put_creates_a_missing_item,
    get_returns_content_with_etag_last_modified_and_cache_headers,
    revalidation_with_the_current_etag_gets_304_with_cache_headers_and_no_body,
    revalidation_with_an_old_etag_gets_the_full_200,
    second_editor_of_the_same_version_gets_412_with_the_current_etag,
    loser_refetches_and_retries_with_the_current_etag,
    replacing_or_deleting_without_a_precondition_gets_428_and_changes_nothing,
    create_only_put_on_an_existing_key_gets_412_and_changes_nothing,
    resumed_download_with_a_current_if_range_gets_206,
    if_range_with_a_stale_weak_or_date_validator_gets_the_full_200,
    put_that_passed_if_match_loses_to_a_write_that_landed_first,
    put_that_passed_if_unmodified_since_loses_to_a_write_that_landed_first,
    create_only_put_that_passed_loses_to_a_create_that_landed_first,
    unconditional_create_that_loses_to_another_create_gets_428,
    stale_if_match_put_leaves_content_and_etag_unchanged,
    malformed_if_match_on_a_write_gets_400_and_changes_nothing,
    put_with_if_unmodified_since_the_last_modified_date_replaces,
    delete_with_the_current_etag_removes_the_item,
    delete_of_a_missing_item_is_404_whatever_the_preconditions,
    head_has_the_get_headers_and_no_body,
    get_of_a_missing_item_is_404_even_with_preconditions,
    invalid_keys_get_400_before_any_precondition_is_looked_at,
    single_byte_ranges_get_206_with_content_range,
    unsatisfiable_ranges_get_416_with_the_length,
    multiple_or_malformed_ranges_are_ignored,
    other_methods_get_405,
    put_with_an_invalid_if_unmodified_since_date_gets_428,
    concurrent_increments_with_if_match_lose_no_update,
    two_concurrent_create_only_puts_exactly_one_gets_201,
    eight_concurrent_create_only_puts_exactly_one_gets_201,
}
