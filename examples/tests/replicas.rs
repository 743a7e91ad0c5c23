//! Several store processes over one database: the built `store` example started twice with the
//! same `--database`, on one PostgreSQL (when `DATABASE_URL` names one) and on one SQLite file.
//! The two processes share nothing but the database, so these tests pass only if the validators
//! come from the database and the compare-and-set happens in it.

#[allow(dead_code)]
#[path = "../store/app.rs"]
mod app;
mod backends;
#[allow(dead_code)]
#[path = "../store/database.rs"]
mod database;
mod process;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use http::StatusCode;
use http::header::{IF_MATCH, IF_NONE_MATCH, IF_UNMODIFIED_SINCE, LAST_MODIFIED};
use tokio::task::JoinSet;
use tokio::time::timeout;

use backends::{Backend, Scratch};
use database::Database;
use process::StoreProcess;
use support::{Reply, Server};

/// Two replicas over a fresh database for `backend`, and the scratches holding the database and
/// the replicas' logs; `None` when the backend is PostgreSQL and there is none.
async fn two_replicas(backend: Backend) -> Option<([Server; 2], Vec<StoreProcess>, [Scratch; 2])> {
    let (scratch, url) = Scratch::new(backend).await?;
    let url = url.expect("a database URL");
    let logs = Scratch::directory();
    // One after the other: the first creates the table, the second finds it.
    let args = ["--addr", "127.0.0.1:0", "--database", url.as_str()];
    let first = StoreProcess::start(&args, &logs.path("replica-0.log")).await;
    let second = StoreProcess::start(&args, &logs.path("replica-1.log")).await;
    let servers = [first.server.clone(), second.server.clone()];
    Some((servers, vec![first, second], [scratch, logs]))
}

/// Two replicas in this process over one fresh database for `backend`, sharing nothing but it:
/// the first with this machine's clock, the second with a clock 120 seconds behind.
async fn replicas_120_s_apart(backend: Backend) -> Option<([Server; 2], Scratch)> {
    let (scratch, url) = Scratch::new(backend).await?;
    let database = Database::parse(&url.expect("a database URL")).expect("a database URL");
    let open = |clock| {
        let database = database.clone();
        async move {
            let router = database
                .router_with_clock(clock)
                .await
                .expect("open the database");
            Server::start(router).await
        }
    };
    let right = open(app::Clock::system()).await;
    let behind = open(app::Clock::offset_by(-120)).await;
    Some(([right, behind], scratch))
}

/// A small xorshift generator: which replica each request goes to.
struct Pick(u64);

impl Pick {
    fn replica<'a>(&mut self, replicas: &'a [Server; 2]) -> &'a Server {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        &replicas[(self.0 % 2) as usize]
    }
}

fn assert_status(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{reply:?}");
}

/// 16 clients x 25 increments of one counter, each a GET then a PUT with If-Match (retried on
/// 412), every request to a random replica. A PUT that won with a stale tag would make two
/// increments read the same value: the final count would fall short.
async fn increments_through_random_replicas_lose_no_update(replicas: [Server; 2]) {
    const CLIENTS: u64 = 16;
    const INCREMENTS: usize = 25;
    const MAX_ATTEMPTS: usize = 100 * INCREMENTS;
    let created = replicas[0]
        .put("/items/counter", &[(IF_NONE_MATCH, "*")], "0")
        .await;
    assert_status(&created, StatusCode::CREATED);

    let mut tasks = JoinSet::new();
    for client in 0..CLIENTS {
        let replicas = replicas.clone();
        tasks.spawn(async move {
            let mut pick = Pick(0x9E37_79B9_7F4A_7C15 ^ (client + 1));
            let mut read_values = Vec::new();
            let mut attempts = 0;
            while read_values.len() < INCREMENTS {
                attempts += 1;
                assert!(attempts <= MAX_ATTEMPTS, "client {client}: no progress");
                let read = pick.replica(&replicas).get("/items/counter", &[]).await;
                assert_status(&read, StatusCode::OK);
                let value: u64 = read.text().parse().expect("a number");
                let etag = read.etag();
                let reply = pick
                    .replica(&replicas)
                    .put(
                        "/items/counter",
                        &[(IF_MATCH, &etag)],
                        (value + 1).to_string(),
                    )
                    .await;
                match reply.status {
                    StatusCode::NO_CONTENT => read_values.push(value),
                    StatusCode::PRECONDITION_FAILED => {
                        assert_ne!(reply.etag(), etag, "a 412 names a newer version");
                    }
                    _ => panic!("unexpected {reply:?}"),
                }
            }
            read_values
        });
    }
    let mut successes = Vec::new();
    let all = async {
        while let Some(result) = tasks.join_next().await {
            successes.extend(result.expect("client finished"));
        }
    };
    timeout(Duration::from_secs(240), all)
        .await
        .expect("all increments within the time bound");

    for replica in &replicas {
        let reply = replica.get("/items/counter", &[]).await;
        let final_value: usize = reply.text().parse().expect("a number");
        assert_eq!(final_value, successes.len(), "no lost update");
    }
    assert_eq!(successes.len(), CLIENTS as usize * INCREMENTS);
    let distinct: BTreeSet<u64> = successes.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        successes.len(),
        "no two PUTs won with one tag"
    );
}

/// Eight create-only PUTs of one key, alternating between the replicas, at once, for several
/// keys: exactly one 201 per key, and every 412 names the winner's tag.
async fn create_only_puts_through_both_replicas_exactly_one_201(replicas: [Server; 2]) {
    for round in 0..10 {
        let path = format!("/items/race-{round}");
        let mut tasks = JoinSet::new();
        for writer in 0..8usize {
            let (server, path) = (replicas[writer % 2].clone(), path.clone());
            tasks.spawn(async move {
                let content = format!("writer {writer}");
                let reply = server
                    .put(&path, &[(IF_NONE_MATCH, "*")], content.clone())
                    .await;
                (content, reply)
            });
        }
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        while let Some(result) = tasks.join_next().await {
            let (content, reply) = result.expect("writer finished");
            match reply.status {
                StatusCode::CREATED => winners.push((content, reply.etag())),
                StatusCode::PRECONDITION_FAILED => losers.push(reply),
                _ => panic!("unexpected {reply:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one create wins: {winners:?}");
        let (content, etag) = winners.pop().unwrap();
        for loser in &losers {
            assert_eq!(loser.etag(), etag, "a 412 names the winner's version");
        }
        for replica in &replicas {
            let reply = replica.get(&path, &[]).await;
            assert_eq!(
                (reply.text(), reply.etag()),
                (content.as_str(), etag.clone())
            );
        }
    }
}

/// A PUT through one replica, then a revalidation through the other with the tag from before:
/// 200 with the new content, never a stale 304. Both replicas send the same ETag and
/// Last-Modified for each version.
async fn write_through_one_replica_is_seen_by_the_other_never_a_stale_304(replicas: [Server; 2]) {
    let [a, b] = &replicas;
    let mut old = a.create("/items/doc", "version 0").await;
    for version in 1..=10 {
        let (writer, reader) = if version % 2 == 0 { (a, b) } else { (b, a) };
        // Versions written in quick succession are dated ahead of the clock, and each reply
        // sends `min(stored, now)`: compare two reads made within one second.
        let (from_writer, from_reader) = loop {
            let second = backends::unix_now();
            let from_writer = writer.get("/items/doc", &[]).await;
            let from_reader = reader.get("/items/doc", &[]).await;
            if backends::unix_now() == second {
                break (from_writer, from_reader);
            }
        };
        assert_eq!(from_writer.etag(), from_reader.etag(), "same ETag on both");
        assert_eq!(
            from_writer.header(LAST_MODIFIED),
            from_reader.header(LAST_MODIFIED),
            "same Last-Modified on both"
        );

        let content = format!("version {version}");
        let put = writer
            .put("/items/doc", &[(IF_MATCH, &old)], content.clone())
            .await;
        assert_status(&put, StatusCode::NO_CONTENT);
        let new = put.etag();

        let stale = reader.get("/items/doc", &[(IF_NONE_MATCH, &old)]).await;
        assert_status(&stale, StatusCode::OK);
        assert_eq!(
            (stale.text(), stale.etag()),
            (content.as_str(), new.clone())
        );
        let fresh = reader.get("/items/doc", &[(IF_NONE_MATCH, &new)]).await;
        assert_status(&fresh, StatusCode::NOT_MODIFIED);
        // The old tag no longer lets a write through on the other replica either.
        let late = reader.put("/items/doc", &[(IF_MATCH, &old)], "late").await;
        assert_status(&late, StatusCode::PRECONDITION_FAILED);
        assert_eq!(late.etag(), new);
        old = new;
    }
}

/// Replicas whose clocks are 120 s apart: a version written through either is dated by the
/// database, after the version it replaced, so an `If-Unmodified-Since` naming the replaced
/// version's date lets no write through either replica replace it.
async fn replicas_120_s_apart_lose_no_update_under_if_unmodified_since(replicas: [Server; 2]) {
    for (round, writer) in [1, 0, 1, 0].into_iter().enumerate() {
        let path = format!("/items/skew-{round}");
        let v1 = replicas[0].create(&path, "v1").await;
        let date = replicas[0]
            .get(&path, &[])
            .await
            .header(LAST_MODIFIED)
            .to_owned();
        let v2 = replicas[writer].put(&path, &[(IF_MATCH, &v1)], "v2").await;
        assert_status(&v2, StatusCode::NO_CONTENT);
        for replica in &replicas {
            let late = replica
                .put(&path, &[(IF_UNMODIFIED_SINCE, &date)], "lost v2")
                .await;
            assert_status(&late, StatusCode::PRECONDITION_FAILED);
            assert_eq!(late.etag(), v2.etag());
        }
        for replica in &replicas {
            assert_eq!(replica.get(&path, &[]).await.text(), "v2", "no update lost");
        }
    }
}

/// For each listed `async fn name(replicas: [Server; 2])`, the tests `sqlite::name` (two
/// processes on one SQLite file) and `postgres::name` (two on one PostgreSQL database).
macro_rules! on_shared_databases {
    ($($name:ident),* $(,)?) => {
        on_shared_databases!(@backend sqlite, Sqlite, $($name),*);
        on_shared_databases!(@backend postgres, Postgres, $($name),*);
    };
    (@backend $module:ident, $backend:ident, $($name:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some((servers, _replicas, _scratches)) =
                        super::two_replicas(super::Backend::$backend).await
                    else {
                        return; // No PostgreSQL: skipped, and `postgres_url` said so.
                    };
                    super::$name(servers).await;
                }
            )*
        }
    };
}

/// The same for replicas in this process whose clocks disagree (see [`replicas_120_s_apart`]).
macro_rules! on_skewed_replicas {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let backend = super::Backend::Sqlite;
                    let (servers, _scratch) = super::replicas_120_s_apart(backend).await.unwrap();
                    super::$name(servers).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    let backend = super::Backend::Postgres;
                    let Some((servers, _scratch)) = super::replicas_120_s_apart(backend).await
                    else {
                        return; // No PostgreSQL: skipped, and `postgres_url` said so.
                    };
                    super::$name(servers).await;
                }
            }
        )*
    };
}

on_skewed_replicas! {
    replicas_120_s_apart_lose_no_update_under_if_unmodified_since,
}

on_shared_databases! {
    increments_through_random_replicas_lose_no_update,
    create_only_puts_through_both_replicas_exactly_one_201,
    write_through_one_replica_is_seen_by_the_other_never_a_stale_304,
}
