//! The hyper example's writers (issue 30): each version is dated later than the one it
//! replaces, so two writers using `If-Unmodified-Since` in the same second lose no update.
//! Runs the example binary, as a user would (`cargo test` builds it).

mod process;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use http::header::{IF_NONE_MATCH, IF_UNMODIFIED_SINCE, LAST_MODIFIED};
use process::StoreProcess;

fn subsec_millis() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .subsec_millis()
}

#[tokio::test]
async fn two_writers_using_if_unmodified_since_in_one_second_lose_no_update() {
    let log = std::env::temp_dir().join(format!("hyper-writers-{}.log", std::process::id()));
    let process = StoreProcess::example("hyper", &["--addr", "127.0.0.1:0"], &log).await;
    let server = &process.server;
    for round in 0..2 {
        // The latest write (the example's seeded `/greeting` at start-up, or the previous
        // round's second write) may be dated up to a second ahead: past it, the create is dated
        // now. Then early in a second, so the create, the read and both writes share it.
        tokio::time::sleep(Duration::from_secs(2)).await;
        while subsec_millis() >= 200 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let path = format!("/race-{round}");
        let created = server.put(&path, &[(IF_NONE_MATCH, "*")], "v1").await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let read = server.get(&path, &[]).await;
        let seen = read.header(LAST_MODIFIED).to_owned();
        // Both writers saw v1 and its date; the first wins, the second must not replace v2.
        let first = server
            .put(&path, &[(IF_UNMODIFIED_SINCE, &seen)], "from the first")
            .await;
        assert_eq!(first.status, StatusCode::NO_CONTENT, "{first:?}");
        let second = server
            .put(&path, &[(IF_UNMODIFIED_SINCE, &seen)], "from the second")
            .await;
        assert_eq!(
            second.status,
            StatusCode::PRECONDITION_FAILED,
            "round {round}: the second writer replaced a version it never saw"
        );
        let stored = server.get(&path, &[]).await;
        assert_eq!(&stored.body[..], b"from the first");
    }
}
