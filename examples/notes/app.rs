//! The notes API as axum users write it, with conditional requests. Everything that exists only
//! for conditional requests (sources, headers, compare-and-set handling, wiring) sits between
//! `// conditional {` and `// conditional }`, or ends with `// conditional`:
//! `tests/notes.rs` counts those lines (imports and comments included) and keeps them at 40 or
//! fewer.

use axum::Router;
use axum::extract::{Json, Path, State};
use axum::http::header::{CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
// conditional {
use tower_conditional::{ByRoute, Checked, ConditionalLayer, Validators, source_fn_with_state};
// conditional }
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};

use super::db::{Db, DbError, DbResult, NewNote, Note, NotePatch};

type Answer = Result<Response, Error>;

// conditional { validators of a version (a note's, the list's), sources, a write's answer
fn validators(version: i64) -> Validators {
    Validators::new().with_etag(version.into())
}

async fn note_source(Path(id): Path<i64>, State(db): State<Db>) -> DbResult<Option<Validators>> {
    Ok(db.version(id).await?.map(validators))
}

async fn list_source(State(db): State<Db>) -> DbResult<Validators> {
    Ok(validators(db.revision().await?))
}

fn written(note: Option<Note>, checked: &Checked) -> Response {
    match note {
        Some(note) => (validators(note.version), Json(note)).into_response(),
        None => checked.lost_race().into_response(),
    }
}
// conditional }

async fn list(State(db): State<Db>) -> Answer {
    let (revision, notes) = db.list().await?; // conditional
    Ok((validators(revision), Json(notes)).into_response()) // conditional
}

async fn create(State(db): State<Db>, Json(new): Json<NewNote>) -> Answer {
    let note = db.create(new).await?;
    let location = [(LOCATION, format!("/notes/{}", note.id))];
    let tags = validators(note.version); // conditional
    Ok((StatusCode::CREATED, location, tags, Json(note)).into_response()) // conditional
}

async fn read(State(db): State<Db>, Path(id): Path<i64>) -> Answer {
    let note = db.get(id).await?.ok_or(Error::NotFound)?;
    Ok((validators(note.version), Json(note)).into_response()) // conditional
}

async fn replace(
    State(db): State<Db>,
    Path(id): Path<i64>,
    checked: Checked, // conditional
    Json(new): Json<NewNote>,
) -> Answer {
    let expected = checked.version().ok_or(Error::NotFound)?; // conditional
    Ok(written(db.replace(id, expected, new).await?, &checked)) // conditional
}

async fn patch(
    State(db): State<Db>,
    Path(id): Path<i64>,
    checked: Checked, // conditional
    Json(patch): Json<NotePatch>,
) -> Answer {
    let expected = checked.version().ok_or(Error::NotFound)?; // conditional
    Ok(written(db.patch(id, expected, patch).await?, &checked)) // conditional
}

async fn delete(
    State(db): State<Db>,
    Path(id): Path<i64>,
    checked: Checked, // conditional
) -> Answer {
    let expected = checked.version().ok_or(Error::NotFound)?; // conditional
    let deleted = db.delete(id, expected).await?; // conditional
    Ok(match deleted {
        Some(()) => StatusCode::NO_CONTENT.into_response(),
        None => checked.lost_race().into_response(), // conditional
    })
}

/// What a handler can fail with: the database, or a note that does not exist.
enum Error {
    Db(DbError),
    NotFound,
}

impl From<DbError> for Error {
    fn from(error: DbError) -> Self {
        Error::Db(error)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::Db(error) => error.into_response(),
            Error::NotFound => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

/// The whole API: CORS outermost, then conditional requests, then compression (inside, so the
/// layer sees each coding's bytes and tags them apart).
pub fn app(db: Db) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([CONTENT_TYPE, IF_MATCH, IF_NONE_MATCH]) // conditional
        .expose_headers([ETAG, LOCATION]); // conditional
    // conditional {
    let sources = ByRoute::new()
        .route("/notes", source_fn_with_state(db.clone(), list_source))
        .route("/notes/{id}", source_fn_with_state(db.clone(), note_source));
    let conditional = ConditionalLayer::new(sources)
        .require_preconditions([Method::PUT, Method::PATCH, Method::DELETE])
        .encoding_aware_etags(true);
    // conditional }
    Router::new()
        .route("/notes", get(list).post(create))
        .route(
            "/notes/{id}",
            get(read).put(replace).patch(patch).delete(delete),
        )
        .layer(CompressionLayer::new())
        .route_layer(conditional) // conditional
        .layer(cors)
        .with_state(db)
}
