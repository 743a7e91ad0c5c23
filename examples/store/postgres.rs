//! The PostgreSQL backend: the database several replicas share.
//!
//! A small pool of connections (deadpool-postgres) that reconnects by itself: a connection the
//! server closed is dropped when it is next handed out, and a new one is opened on demand, so
//! after an outage the first request that finds the server back is served normally. Statements
//! are prepared once per connection.
//!
//! The compare-and-set is one statement, `UPDATE items SET ... WHERE key = $1 AND etag = $4`:
//! under PostgreSQL's default READ COMMITTED isolation, a second writer's `UPDATE` waits for the
//! first one's row lock and then re-evaluates its `WHERE` against the row the first one
//! committed, finds a different tag and changes nothing. The same statement dates the new
//! version by the server's clock, `GREATEST(now, updated_at + 1)` against the row it replaces,
//! so no replica's clock ever dates a version. The 412 then reads the row afresh, in a
//! second statement with a new snapshot, to report the current validators.

use std::time::Duration;

use axum::body::Bytes;
use deadpool_postgres::tokio_postgres::types::ToSql;
use deadpool_postgres::tokio_postgres::{Config, NoTls, Row, Statement};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tower_conditional::ETag;

use super::sql::{self, OPERATION_TIMEOUT, failed, within_timeout};
use super::storage::{CasOutcome, Expected, Item, Storage, StorageError, Version};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    content BYTEA NOT NULL,
    etag TEXT NOT NULL,
    updated_at BIGINT NOT NULL
)";

/// Serialises `CREATE TABLE IF NOT EXISTS` between replicas starting together (concurrent ones
/// can both try to create the table's type and one fails). Any constant will do.
const SCHEMA_LOCK: i64 = 0x0073_746f_7265_3133;

/// How long opening one connection may take: a server that does not answer is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// At most this many connections per process.
const MAX_CONNECTIONS: usize = 16;

/// A store in a PostgreSQL database.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("status", &self.pool.status())
            .finish()
    }
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname?...`, no
    /// TLS) and creates the `items` table if it is missing.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        let mut config: Config = url
            .parse()
            .map_err(|error| failed("parsing the PostgreSQL URL", error))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // Checks that the connection is still open, without a round trip.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(MAX_CONNECTIONS)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(OPERATION_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|error| failed("building the connection pool", error))?;
        let postgres = Postgres { pool };
        within_timeout(postgres.create_table()).await?;
        Ok(postgres)
    }

    async fn create_table(&self) -> Result<(), StorageError> {
        let doing = "creating the items table";
        let mut client = self.client().await?;
        let transaction = client
            .transaction()
            .await
            .map_err(|error| failed(doing, error))?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(|error| failed(doing, error))?;
        transaction
            .batch_execute(SCHEMA)
            .await
            .map_err(|error| failed(doing, error))?;
        transaction
            .commit()
            .await
            .map_err(|error| failed(doing, error))
    }

    /// A pooled connection: an idle one that is still open, or a new one.
    async fn client(&self) -> Result<Object, StorageError> {
        self.pool
            .get()
            .await
            .map_err(|error| failed("connecting to PostgreSQL", error))
    }

    /// A pooled connection and `statement` prepared on it (once per connection: cached).
    async fn prepare(
        &self,
        doing: &str,
        statement: &str,
    ) -> Result<(Object, Statement), StorageError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(statement)
            .await
            .map_err(|error| failed(doing, error))?;
        Ok((client, statement))
    }

    /// Runs one prepared statement and returns at most one row.
    async fn query_opt(
        &self,
        doing: &str,
        statement: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StorageError> {
        within_timeout(async {
            let (client, statement) = self.prepare(doing, statement).await?;
            client
                .query_opt(&statement, params)
                .await
                .map_err(|error| failed(doing, error))
        })
        .await
    }

    /// Runs one compare-and-set statement, which returns the changed row's `updated_at`; on no
    /// change, reads the state that refused it.
    async fn compare_and_set(
        &self,
        doing: &str,
        key: &str,
        statement: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<CasOutcome<i64>, StorageError> {
        if let Some(row) = self.query_opt(doing, statement, params).await? {
            let updated_at = row
                .try_get(0)
                .map_err(|error| failed("reading updated_at", error))?;
            return Ok(CasOutcome::Done(updated_at));
        }
        Ok(CasOutcome::Conflict(self.version(key).await?))
    }
}

/// The version in a row whose first two columns are `etag` and `updated_at`.
fn version_of(row: &Row) -> Result<Version, StorageError> {
    let etag: &str = row
        .try_get(0)
        .map_err(|error| failed("reading etag", error))?;
    let updated_at: i64 = row
        .try_get(1)
        .map_err(|error| failed("reading updated_at", error))?;
    sql::version_from_columns(etag, updated_at)
}

impl Storage for Postgres {
    async fn version(&self, key: &str) -> Result<Option<Version>, StorageError> {
        self.query_opt(
            "reading validators",
            "SELECT etag, updated_at FROM items WHERE key = $1",
            &[&key],
        )
        .await?
        .as_ref()
        .map(version_of)
        .transpose()
    }

    async fn get(&self, key: &str) -> Result<Option<Item>, StorageError> {
        let Some(row) = self
            .query_opt(
                "reading an item",
                "SELECT etag, updated_at, content FROM items WHERE key = $1",
                &[&key],
            )
            .await?
        else {
            return Ok(None);
        };
        let content: Vec<u8> = row
            .try_get(2)
            .map_err(|error| failed("reading content", error))?;
        Ok(Some(Item {
            content: Bytes::from(content),
            version: version_of(&row)?,
        }))
    }

    async fn put_if(
        &self,
        key: &str,
        expected: Expected<'_>,
        content: Bytes,
        etag: ETag,
    ) -> Result<CasOutcome<Version>, StorageError> {
        let tag = sql::etag_column(&etag);
        let content: &[u8] = &content;
        // `updated_at` by the server's clock (`clock_timestamp()`, in whole seconds: one clock
        // for every replica), later than the replaced row's.
        let outcome = match expected {
            // Create-only: the primary key refuses a second row.
            Expected::Missing => {
                self.compare_and_set(
                    "creating an item",
                    key,
                    "INSERT INTO items (key, content, etag, updated_at)
                     VALUES ($1, $2, $3, floor(extract(epoch FROM clock_timestamp()))::bigint)
                     ON CONFLICT (key) DO NOTHING
                     RETURNING updated_at",
                    &[&key, &content, &tag],
                )
                .await?
            }
            // Replace: only the row still carrying the checked tag.
            Expected::Current(checked) => {
                let checked = sql::etag_column(checked);
                self.compare_and_set(
                    "replacing an item",
                    key,
                    "UPDATE items SET content = $2, etag = $3, updated_at = GREATEST(
                         floor(extract(epoch FROM clock_timestamp()))::bigint,
                         updated_at + 1
                     )
                     WHERE key = $1 AND etag = $4
                     RETURNING updated_at",
                    &[&key, &content, &tag, &checked],
                )
                .await?
            }
        };
        sql::written(outcome, etag)
    }

    async fn delete_if(&self, key: &str, expected: &ETag) -> Result<CasOutcome<()>, StorageError> {
        let outcome = self
            .compare_and_set(
                "deleting an item",
                key,
                "DELETE FROM items WHERE key = $1 AND etag = $2 RETURNING updated_at",
                &[&key, &sql::etag_column(expected)],
            )
            .await?;
        Ok(sql::done(outcome))
    }
}
