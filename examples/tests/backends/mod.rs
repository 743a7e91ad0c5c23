//! The store example over each of its backends, for tests: memory, SQLite (always) and
//! PostgreSQL (when `DATABASE_URL` is a `postgres://` URL), each test with data of its own.
//!
//! Used by test crates that include `examples/store/app.rs` as `app` and
//! `examples/store/database.rs` as `database`.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use deadpool_postgres::tokio_postgres::{self, NoTls};

use crate::app;
use crate::database::Database;
use crate::database::postgres::Postgres;
use crate::database::sqlite::Sqlite;

/// Where a test keeps its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

/// One test's data: a SQLite file's directory or a PostgreSQL schema, removed when dropped.
#[derive(Debug)]
pub enum Scratch {
    /// Memory: nothing outlives the router.
    Nothing,
    /// A directory holding `items.db` (and its WAL files).
    Directory(PathBuf),
    /// A schema of the `DATABASE_URL` database; `url` selects it with `search_path`.
    Schema {
        admin_url: String,
        name: String,
        url: String,
    },
}

/// A name no other test (in this or another test process) uses.
fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `DATABASE_URL` when it names a PostgreSQL database. Otherwise `None`, and the first call in
/// this process says on the terminal (past the test harness's capture) that the PostgreSQL tests
/// are skipped.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"));
    if url.is_none() {
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "note: PostgreSQL tests SKIPPED (they pass without running): DATABASE_URL is not \
                 a postgres:// URL. `bash .ci/run` starts a PostgreSQL and sets it."
            );
        });
    }
    url
}

impl Scratch {
    /// A fresh temporary directory.
    pub fn directory() -> Scratch {
        let dir = std::env::temp_dir().join(unique_name("store-test"));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        Scratch::Directory(dir)
    }

    /// A fresh directory for a SQLite file; returns the scratch and the `sqlite://` URL.
    pub fn sqlite() -> (Scratch, String) {
        let scratch = Scratch::directory();
        let url = format!("sqlite://{}", scratch.path("items.db").display());
        (scratch, url)
    }

    /// The path of `file` in a [`Scratch::directory`].
    pub fn path(&self, file: &str) -> PathBuf {
        match self {
            Scratch::Directory(dir) => dir.join(file),
            _ => panic!("not a directory scratch: {self:?}"),
        }
    }

    /// A fresh schema in the `DATABASE_URL` database; returns the scratch and a URL whose
    /// connections use it. `None` when there is no PostgreSQL to use.
    pub async fn postgres() -> Option<(Scratch, String)> {
        let admin_url = postgres_url()?;
        let name = unique_name("store_test");
        execute(&admin_url, &format!("CREATE SCHEMA {name}")).await;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{name}");
        let scratch = Scratch::Schema {
            admin_url,
            name,
            url: url.clone(),
        };
        Some((scratch, url))
    }

    /// A scratch for `backend` and the `--database` URL that uses it (`None` for memory).
    /// `None` altogether when the backend is PostgreSQL and there is none.
    pub async fn new(backend: Backend) -> Option<(Scratch, Option<String>)> {
        Some(match backend {
            Backend::Memory => (Scratch::Nothing, None),
            Backend::Sqlite => {
                let (scratch, url) = Scratch::sqlite();
                (scratch, Some(url))
            }
            Backend::Postgres => {
                let (scratch, url) = Scratch::postgres().await?;
                (scratch, Some(url))
            }
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match self {
            Scratch::Nothing => {}
            Scratch::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Scratch::Schema {
                admin_url, name, ..
            } => {
                // Drop runs inside a test's runtime: use a thread with a runtime of its own.
                let (admin_url, sql) = (admin_url.clone(), format!("DROP SCHEMA {name} CASCADE"));
                let _ = std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime")
                        .block_on(execute(&admin_url, &sql));
                })
                .join();
            }
        }
    }
}

/// Runs one statement on a connection of its own.
pub async fn execute(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|error| panic!("connect to DATABASE_URL {url}: {error}"));
    let driver = tokio::spawn(connection);
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    drop(client);
    let _ = driver.await;
}

/// The store's router over `backend`, with the scratch holding its data. `None` when the backend
/// is PostgreSQL and there is none.
pub async fn router(backend: Backend) -> Option<(Router, Scratch)> {
    let (scratch, url) = Scratch::new(backend).await?;
    let router = match url {
        None => app::router(),
        // The same path from URL to router as the store's `--database`.
        Some(url) => Database::parse(&url)
            .expect("a database URL")
            .router()
            .await
            .unwrap_or_else(|error| panic!("open {url}: {error}")),
    };
    Some((router, scratch))
}

/// The SQLite storage in a [`Scratch::sqlite`] directory.
pub fn sqlite(scratch: &Scratch) -> Sqlite {
    Sqlite::open(scratch.path("items.db")).expect("open the SQLite file")
}

/// The PostgreSQL storage at `url`.
pub async fn postgres(url: &str) -> Postgres {
    Postgres::connect(url)
        .await
        .unwrap_or_else(|error| panic!("connect to {url}: {error}"))
}

/// Defines, for each listed `async fn name(server: Server)`, the tests `memory::name`,
/// `sqlite::name` and `postgres::name`: the same test over each backend, on a multi-threaded
/// runtime (some of them race requests).
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        $crate::on_every_backend!(@backend memory, Memory, $($name),*);
        $crate::on_every_backend!(@backend sqlite, Sqlite, $($name),*);
        $crate::on_every_backend!(@backend postgres, Postgres, $($name),*);
    };
    (@backend $module:ident, $backend:ident, $($name:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let backend = $crate::backends::Backend::$backend;
                    let Some((router, _scratch)) = $crate::backends::router(backend).await else {
                        return; // No PostgreSQL: skipped, and `postgres_url` said so.
                    };
                    super::$name($crate::support::Server::start(router).await).await;
                }
            )*
        }
    };
}

/// Now, in whole Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// A GET of `path` whose `Last-Modified` is the stored date, not the clock.
///
/// The store dates the versions of one item a second apart, so writes in quick succession are
/// dated ahead of the clock, and a response sends `min(stored, now)` (RFC 9110 §8.8.2.1). Two
/// reads clamped in different seconds that agree show the stored date has been reached.
pub async fn settled_get(server: &crate::support::Server, path: &str) -> crate::support::Reply {
    let mut earlier = server.get(path, &[]).await;
    for _ in 0..30 {
        let read_by = unix_now();
        while unix_now() <= read_by {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let later = server.get(path, &[]).await;
        if later.header(http::header::LAST_MODIFIED) == earlier.header(http::header::LAST_MODIFIED)
        {
            return later;
        }
        earlier = later;
    }
    panic!("the Last-Modified of {path} kept moving for 30 s");
}
