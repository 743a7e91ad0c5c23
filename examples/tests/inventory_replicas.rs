//! Two instances of the inventory example (axum + sqlx) on one PostgreSQL, each with its
//! validator cache: a write through A reaches B's cache as a `NOTIFY`, so B's revalidation with
//! the replaced tag turns into a 200, and B never answers it 304 once the notification is out.
//! Skipped (and says so) without a PostgreSQL in `DATABASE_URL`.
//!
//! `INVENTORY_WRITES` sets the number of writes (default 30); with `--nocapture` the test
//! prints the windows from A's answer to B's first 200 (`benches/replica_cache.sh` runs it in
//! release with 300). No figure is asserted: they measure the machine.

mod process;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use http::StatusCode;
use http::header::{CONTENT_TYPE, IF_MATCH, IF_NONE_MATCH};
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use process::StoreProcess;
use support::Server;

/// How long after the notification reached the test's own listener a 304 for the replaced
/// tag may still be sent by B (B's listener hears it at about the same time; the slack covers
/// scheduling on a loaded machine).
const SLACK: Duration = Duration::from_millis(250);

/// `DATABASE_URL` when it names a PostgreSQL database.
fn postgres_url() -> Option<String> {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"));
    if url.is_none() {
        eprintln!("note: inventory replica test SKIPPED: DATABASE_URL is not a postgres:// URL");
    }
    url
}

/// A schema of its own (dropped at the end) and a URL whose connections use it.
struct Schema {
    admin: sqlx::PgPool,
    name: String,
    url: String,
    logs: PathBuf,
}

impl Schema {
    async fn new(admin_url: &str) -> Schema {
        let name = format!("inventory_test_{}", std::process::id());
        let admin = sqlx::PgPool::connect(admin_url).await.expect("connect");
        let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .expect("create the schema");
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{name}");
        let logs = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&logs).expect("a log directory");
        Schema {
            admin,
            name,
            url,
            logs,
        }
    }

    async fn drop(self) {
        let sql = format!("DROP SCHEMA {} CASCADE", self.name);
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&self.admin)
            .await;
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

/// Waits until `log` says `line` (the listener's "listening" line).
async fn wait_for_line(log: &std::path::Path, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(line) {
            return;
        }
        assert!(Instant::now() < deadline, "{line:?} never logged:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// p50, p99 and the maximum of `values`, sorted in place.
fn quantiles(values: &mut [Duration]) -> (Duration, Duration, Duration) {
    values.sort();
    let at = |q: f64| values[((values.len() as f64 * q) as usize).min(values.len() - 1)];
    (at(0.5), at(0.99), values[values.len() - 1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_instance_reaches_the_others_cache_never_a_stale_304() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let writes: usize = std::env::var("INVENTORY_WRITES")
        .ok()
        .and_then(|writes| writes.parse().ok())
        .unwrap_or(30);
    let schema = Schema::new(&admin_url).await;
    let env = [("DATABASE_URL", schema.url.as_str())];
    let args = ["--addr", "127.0.0.1:0"];
    let (a_log, b_log) = (schema.logs.join("a.log"), schema.logs.join("b.log"));
    let a = StoreProcess::example_with_env("inventory", &args, &env, &a_log).await;
    let b = StoreProcess::example_with_env("inventory", &args, &env, &b_log).await;
    wait_for_line(&a_log, "validator cache on: listening").await;
    wait_for_line(&b_log, "validator cache on: listening").await;
    let (a, b): (&Server, &Server) = (&a.server, &b.server);

    // The test's own listener: when each notification went out.
    let mut probe = PgListener::connect(&schema.url).await.expect("the probe");
    probe.listen("inventory_changed").await.expect("LISTEN");
    let (heard, mut arrivals) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(notification) = probe.recv().await {
            let _ = heard.send((Instant::now(), notification.payload().to_owned()));
        }
    });

    let path = "/items/7";
    let json = [(CONTENT_TYPE, "application/json")];
    let created = a
        .put(
            path,
            &[json[0].clone(), (IF_NONE_MATCH, "*")],
            r#"{"name":"bolt","quantity":0}"#,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let mut tag = created.etag();
    // Aliases of the item are one key: `/items/07` is item 7, and its 304 fills that entry.
    let alias = b.get("/items/07", &[(IF_NONE_MATCH, tag.as_str())]).await;
    assert_eq!(alias.status, StatusCode::NOT_MODIFIED, "{alias:?}");

    let mut windows = Vec::with_capacity(writes);
    for round in 0..writes {
        let warm = b.get(path, &[(IF_NONE_MATCH, tag.as_str())]).await;
        assert_eq!(
            warm.status,
            StatusCode::NOT_MODIFIED,
            "round {round}: {warm:?}"
        );
        while arrivals.try_recv().is_ok() {}
        let body = format!(r#"{{"name":"bolt","quantity":{round}}}"#);
        let put = a
            .put(path, &[json[0].clone(), (IF_MATCH, tag.as_str())], body)
            .await;
        assert_eq!(put.status, StatusCode::OK, "round {round}: {put:?}");
        let answered = Instant::now();
        let mut notified = None;
        loop {
            if notified.is_none()
                && let Ok((at, payload)) = arrivals.try_recv()
            {
                assert_eq!(payload, "7");
                notified = Some(at);
            }
            let sent = Instant::now();
            let reply = b.get(path, &[(IF_NONE_MATCH, tag.as_str())]).await;
            match reply.status {
                StatusCode::OK => break,
                StatusCode::NOT_MODIFIED => {
                    if let Some(at) = notified {
                        assert!(
                            sent < at + SLACK,
                            "round {round}: a stale 304 sent {:?} after the notification",
                            sent - at
                        );
                    }
                    assert!(
                        answered.elapsed() < Duration::from_secs(10),
                        "round {round}"
                    );
                }
                _ => panic!("round {round}: {reply:?}"),
            }
        }
        windows.push(answered.elapsed());
        // Once B answered 200, it never goes back to the replaced tag's 304.
        for _ in 0..3 {
            let again = b.get(path, &[(IF_NONE_MATCH, tag.as_str())]).await;
            assert_eq!(again.status, StatusCode::OK, "round {round}: {again:?}");
        }
        tag = put.etag();
    }
    let (p50, p99, max) = quantiles(&mut windows);
    eprintln!(
        "inventory, two instances: {writes} writes, A's answer to B's first 200: \
         p50 {p50:?} p99 {p99:?} max {max:?}"
    );
    schema.drop().await;
}

/// The cache and its cross-instance invalidation in `examples/inventory.rs`: the non-blank
/// lines between `// cache {` and `// cache }` (its imports included).
#[test]
fn the_inventory_s_cache_takes_at_most_15_lines() {
    let mut inside = false;
    let mut counted = 0;
    for line in include_str!("../inventory.rs").lines().map(str::trim) {
        match line {
            "// cache {" => inside = true,
            "// cache }" => inside = false,
            "" => {}
            _ => counted += usize::from(inside),
        }
    }
    assert!(!inside, "an unclosed cache block");
    assert!(counted > 5, "the markers are missing: {counted} lines");
    assert!(counted <= 15, "{counted} lines of cache code");
    eprintln!("inventory: {counted} lines of cache code");
}
