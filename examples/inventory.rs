//! An inventory JSON API over PostgreSQL with sqlx, run as several instances on one database:
//! conditional reads (304), compare-and-set writes (428 without a precondition, 412 against a
//! stale version), and a validator cache that answers revalidations without a query and hears
//! every instance's writes through PostgreSQL (`tower-conditional-postgres`).
//!
//! Run two instances on one database:
//!
//! ```text
//! export DATABASE_URL=postgres://localhost/shop
//! cargo run --example inventory -- --addr 127.0.0.1:3001 &
//! cargo run --example inventory -- --addr 127.0.0.1:3002 &
//! ```
//!
//! Then:
//!
//! ```text
//! # Create item 7 through A (create-only: If-None-Match: *): 201 and ETag "1".
//! curl -i -X PUT -H 'If-None-Match: *' -H 'content-type: application/json' \
//!      -d '{"name":"bolt","quantity":10}' localhost:3001/items/7
//! # Revalidate through B: 304 (from B's cache after the first).
//! curl -i -H 'If-None-Match: "1"' localhost:3002/items/7
//! # Change it through A, naming the version read: 200 and ETag "2"; again with "1": 412.
//! curl -i -X PUT -H 'If-Match: "1"' -H 'content-type: application/json' \
//!      -d '{"name":"bolt","quantity":9}' localhost:3001/items/7
//! # B heard it: its revalidation with "1" is a 200 again at once.
//! curl -i -H 'If-None-Match: "1"' localhost:3002/items/7
//! # So does a write from psql: UPDATE inventory SET quantity = 8, version = version + 1 WHERE id = 7;
//! ```
//!
//! The cache takes the lines between `// cache {` and `// cache }`: its key (the item id, as
//! `Path<i64>` reads it, so `/items/07` shares item 7's entry), the listener that invalidates
//! it, the layer's use of it, and their imports: 11 lines (`tests/inventory_replicas.rs` counts
//! them, at most 15).

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tower_conditional::{Checked, ConditionalLayer, Validators, source_fn_with_state};

#[path = "serving.rs"]
mod serving;

// cache {
use axum::http::request::Parts;
use tower_conditional::ValidatorCache;
use tower_conditional_postgres::{Listener, Trigger};
// cache }

/// The table; created at start-up under an advisory lock (instances start together).
const SCHEMA: &str = "SELECT pg_advisory_xact_lock(7364);
CREATE TABLE IF NOT EXISTS inventory (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    quantity bigint NOT NULL,
    version bigint NOT NULL
)";

/// What a client sends.
#[derive(Deserialize)]
struct Change {
    name: String,
    quantity: i64,
}

/// What a client reads.
#[derive(Serialize)]
struct Item {
    id: i64,
    name: String,
    quantity: i64,
    version: i64,
}

/// The validators of an item at `version`: for the source and the handlers alike.
fn validators(version: i64) -> Validators {
    Validators::new().with_etag(version.into())
}

/// The layer's source: `SELECT version`, by the id `Path` decoded.
async fn source(Path(id): Path<i64>, State(db): State<PgPool>) -> sqlx::Result<Option<Validators>> {
    let version = sqlx::query_scalar("SELECT version FROM inventory WHERE id = $1")
        .bind(id)
        .fetch_optional(&db)
        .await?;
    Ok(version.map(validators))
}

async fn read(Path(id): Path<i64>, State(db): State<PgPool>) -> Result<Response, Failure> {
    let row: Option<(String, i64, i64)> =
        sqlx::query_as("SELECT name, quantity, version FROM inventory WHERE id = $1")
            .bind(id)
            .fetch_optional(&db)
            .await?;
    Ok(match row {
        Some((name, quantity, version)) => {
            let item = Item {
                id,
                name,
                quantity,
                version,
            };
            (validators(version), Json(item)).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    })
}

/// Creates (after `If-None-Match: *`) or replaces (after `If-Match`) the item: a
/// compare-and-set on the version the layer checked, so a write that lost the race since is
/// refused (412), never applied over the other.
async fn write(
    Path(id): Path<i64>,
    State(db): State<PgPool>,
    checked: Checked,
    Json(change): Json<Change>,
) -> Result<Response, Failure> {
    let (status, written) = match checked.version::<i64>() {
        None => {
            let sql = "INSERT INTO inventory VALUES ($1, $2, $3, 1) ON CONFLICT (id) DO NOTHING \
                       RETURNING version";
            let row = sqlx::query_scalar(sql)
                .bind(id)
                .bind(&change.name)
                .bind(change.quantity);
            (StatusCode::CREATED, row.fetch_optional(&db).await?)
        }
        Some(version) => {
            let sql = "UPDATE inventory SET name = $2, quantity = $3, version = version + 1 \
                       WHERE id = $1 AND version = $4 RETURNING version";
            let row = sqlx::query_scalar(sql)
                .bind(id)
                .bind(&change.name)
                .bind(change.quantity);
            (StatusCode::OK, row.bind(version).fetch_optional(&db).await?)
        }
    };
    Ok(match written {
        Some(version) => {
            let item = Item {
                id,
                name: change.name,
                quantity: change.quantity,
                version,
            };
            (status, validators(version), Json(item)).into_response()
        }
        None => checked.lost_race().into_response(),
    })
}

async fn delete(
    Path(id): Path<i64>,
    State(db): State<PgPool>,
    checked: Checked,
) -> Result<Response, Failure> {
    let deleted = sqlx::query("DELETE FROM inventory WHERE id = $1 AND version = $2")
        .bind(id)
        .bind(checked.version::<i64>())
        .execute(&db)
        .await?;
    Ok(match deleted.rows_affected() {
        0 => checked.lost_race().into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    })
}

/// A database error: 503, logged.
struct Failure(sqlx::Error);

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Failure(error)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "database");
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    }
}

async fn serve(addr: SocketAddr, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let db = PgPool::connect(url).await?;
    // One simple query: one implicit transaction, which holds the advisory lock to its end.
    sqlx::raw_sql(SCHEMA).execute(&db).await?;
    let layer = ConditionalLayer::new(source_fn_with_state(db.clone(), source))
        .require_preconditions([Method::PUT, Method::DELETE]);
    // cache {
    let cache = ValidatorCache::builder(|head: &Parts| {
        head.uri.path().strip_prefix("/items/")?.parse::<i64>().ok()
    })
    .build();
    let _listening = Listener::new(url.parse()?, "inventory_changed")
        .installing(Trigger::new("inventory", "id"))
        .spawn(cache.clone());
    let layer = layer.validator_cache(cache);
    // cache }
    let app = Router::new()
        .route("/items/{id}", get(read).put(write).delete(delete))
        .route_layer(layer)
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serving::serve(listener, app).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    let mut args = std::env::args().skip(1);
    let addr = match (args.next().as_deref(), args.next()) {
        (None, _) => Some(String::from("127.0.0.1:3000")),
        (Some("--addr"), Some(addr)) => Some(addr),
        _ => None,
    };
    let (Some(Ok(addr)), Ok(url)) = (addr.map(|a| a.parse()), std::env::var("DATABASE_URL")) else {
        eprintln!("usage: DATABASE_URL=postgres://... inventory [--addr HOST:PORT]");
        return ExitCode::from(2);
    };
    match serve(addr, &url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("inventory: {error}");
            ExitCode::FAILURE
        }
    }
}
