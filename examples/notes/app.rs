//! The notes API as axum users write it, with conditional requests. Everything that exists only
//! for conditional requests (sources, headers, compare-and-set handling, wiring) sits between
//! `// conditional {` and `// conditional }`, or ends with `// conditional`:
//! `tests/notes.rs` counts those lines (imports and comments included) and keeps them at 40 or
//! fewer.
//!
//! Every write is a compare-and-set on the version the layer checked (`Checked::version`): a
//! note's for PUT, PATCH and DELETE, the list's for a create that carries a precondition on the
//! list (`POST /notes` with `If-Match`). `cas` turns a write that changed nothing into the
//! answer: the lost race's 412 (`Checked::lost_race`, no second read: the layer names the
//! current version), or a 404 when there was no version to compare (the note was missing at
//! the check).
//!
//! The validator cache is opt-in (`app(db, Some(max_age))`, `--validator-cache` on the command
//! line): revalidations answered 304 from cached validators, without a query. Its lines sit
//! between `// validator cache {` and `// validator cache }` (or end with `// validator cache`),
//! counted apart (at most 30): it is an optimisation on top of the 40 lines, not part of them.
//! Every write goes through the layer, which invalidates the note it wrote and, through
//! `also_invalidates`, the list (also when the client goes away mid-write); in one process a
//! cached 304 is late only if a write commits after its request was dropped and a revalidation
//! refills the old version meanwhile (the README's "Validator cache"). A second process
//! writing the same database file is not seen: the maximum age is then the bound on how late a
//! 304 can be.

// validator cache {
use std::time::Duration;
// validator cache }

use axum::Router;
use axum::extract::{Json, Path, State};
use axum::http::header::{CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_conditional::ValidatorCache; // validator cache
// conditional {
use tower_conditional::{ByRoute, Checked, ConditionalLayer, Validators, source_fn_with_state};
// conditional }
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};

use super::db::{Db, DbError, DbResult, NewNote, NotePatch};

type Answer = Result<Response, Error>;

// conditional { validators of a version (a note's, the list's), sources, compare-and-set
fn validators(version: i64) -> Validators {
    Validators::new().with_etag(version.into())
}

async fn note_source(Path(id): Path<i64>, State(db): State<Db>) -> DbResult<Option<Validators>> {
    Ok(db.version(id).await?.map(validators))
}

async fn list_source(State(db): State<Db>) -> DbResult<Validators> {
    Ok(validators(db.revision().await?))
}

fn cas<T>(written: Option<T>, checked: Option<Checked>) -> Result<T, Error> {
    let lost = checked.filter(|c| c.state().etag().is_some()).map(Box::new);
    written.ok_or_else(|| lost.map_or(Error::NotFound, Error::LostRace))
}
// conditional }

async fn list(State(db): State<Db>) -> Answer {
    let (revision, notes) = db.list().await?; // conditional
    Ok((validators(revision), Json(notes)).into_response()) // conditional
}

async fn create(
    State(db): State<Db>,
    checked: Option<Checked>, // conditional
    Json(new): Json<NewNote>,
) -> Answer {
    let list = checked.as_ref().and_then(Checked::version); // conditional
    let note = cas(db.create(new, list).await?, checked)?; // conditional
    let location = [(LOCATION, format!("/notes/{}", note.id))];
    let head = (validators(note.version), location); // conditional
    Ok((StatusCode::CREATED, head, Json(note)).into_response())
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
    let note = cas(db.replace(id, checked.version(), new).await?, Some(checked))?; // conditional
    Ok((validators(note.version), Json(note)).into_response()) // conditional
}

async fn patch(
    State(db): State<Db>,
    Path(id): Path<i64>,
    checked: Checked, // conditional
    Json(patch): Json<NotePatch>,
) -> Answer {
    let note = cas(db.patch(id, checked.version(), patch).await?, Some(checked))?; // conditional
    Ok((validators(note.version), Json(note)).into_response()) // conditional
}

async fn delete(
    State(db): State<Db>,
    Path(id): Path<i64>,
    checked: Checked, // conditional
) -> Answer {
    cas(db.delete(id, checked.version()).await?, Some(checked))?; // conditional
    Ok(StatusCode::NO_CONTENT.into_response())
}

// validator cache { keyed as the sources extract: the list, or a note by the id `Path` decodes
#[derive(Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    List,
    Note(i64),
}

fn validator_cache(max_age: Duration) -> ValidatorCache<CacheKey> {
    ValidatorCache::keyed_by(|id: Option<Path<i64>>| {
        id.map_or(CacheKey::List, |Path(id)| CacheKey::Note(id))
    })
    .max_age(max_age)
    // A write to a note also invalidates the list that contains it.
    .also_invalidates(|key| matches!(key, CacheKey::Note(_)).then_some(CacheKey::List))
    .build()
}
// validator cache }

/// What a handler can fail with: the database, a note that does not exist, or a compare-and-set
/// that found the version it checked gone.
enum Error {
    Db(DbError),
    NotFound,
    LostRace(Box<Checked>), // conditional
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
            Error::LostRace(checked) => checked.lost_race().into_response(), // conditional
        }
    }
}

/// The whole API: CORS outermost, then conditional requests, then compression (inside, so the
/// layer sees each coding's bytes and tags them apart). With `validator_cache`, the layer answers
/// revalidations from a cache of validators at most that old.
pub fn app(db: Db, validator_cache: Option<Duration>) -> Router {
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
    // validator cache {
    let conditional = match validator_cache {
        Some(max_age) => conditional.validator_cache(self::validator_cache(max_age)),
        None => conditional,
    };
    // validator cache }
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
