//! The client's half: read, modify, write with a precondition, and on 412 refetch and re-apply
//! the change, a bounded number of times with jittered backoff.
//!
//! See [`ConditionalUpdate`] for the protocol and an example.

mod backoff;
mod current;
mod outcome;

use std::fmt;
use std::future::{Future, poll_fn};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::BodyExt;
use tower::Service;

use crate::source::BoxError;

pub use current::{Change, Current, Representation};
pub use outcome::{Outcome, UpdateError};

use backoff::Backoff;
use current::validators_of;

/// Writes sent at most by default: the first and four retries.
const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// By default the first backoff is capped at 20 ms, doubling with each 412 up to 1 s.
const DEFAULT_BACKOFF: Backoff = Backoff::new(Duration::from_millis(20), Duration::from_secs(1));

/// A read-modify-write loop with preconditions: the configuration, and
/// [`update`](ConditionalUpdate::update) to run it.
///
/// `Z` is the sleep function used for backoff (`tokio::time::sleep` on tokio). The
/// configuration is cheap to clone and can run any number of updates, concurrently too.
///
/// [`ConditionalUpdate::update`] drives any tower HTTP client service (hyper-util's `Client`, a
/// `tower::service_fn`, an axum `Router` in tests) through the loop RFC 9110 §13 sets up:
///
/// 1. `GET` the target. 2xx: the representation. 404: [`Current::Missing`].
/// 2. Hand it to the change function, which returns the new bytes or [`Change::Abort`].
/// 3. `PUT` them with a precondition naming the version read: `If-Match` with its strong `ETag`,
///    or `If-Unmodified-Since` with its `Last-Modified`, or `If-None-Match: *` to create a
///    missing resource. Without any of these nothing is sent ([`Outcome::NoValidator`]): a
///    write without a precondition can overwrite someone else's edit.
/// 4. On 412 Precondition Failed someone else wrote first: wait a jittered backoff, `GET` again
///    and go back to 2 with the fresh representation, up to [`max_attempts`] writes. The 412's
///    own `ETag` is not used: the function must see the bytes a tag belongs to, and the 412
///    carries a problem document, not the representation.
///
/// Everything else ends the loop: 2xx is [`Outcome::Written`]; a 404 after the first `GET`
/// (on a refetch, or to a replacing write) is [`Outcome::Gone`], because recreating the
/// resource would undo someone's delete; 400 and 428 (this side's bug: a malformed or missing
/// precondition) and any other status are [`Outcome::Refused`] with the response, never retried.
/// Errors of the service itself, or of reading a body, are [`UpdateError`]s.
///
/// # Example
///
/// A fake server (a `tower::service_fn`) holds a counter whose `ETag` is its value; another
/// client increments it right after our first read, so our first write gets 412. The update
/// refetches, re-applies `+ 1` to the fresh value and writes again.
///
/// ```
/// use std::convert::Infallible;
/// use std::sync::{Arc, Mutex};
///
/// use bytes::Bytes;
/// use http::{header, Method, Request, Response, StatusCode};
/// use http_body_util::{BodyExt, Full};
/// use tower_conditional::{Change, ConditionalUpdate, Current, Outcome};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let counter = Arc::new(Mutex::new((41_u64, 0_u32))); // (value, GETs served)
/// let server = counter.clone();
/// let mut client = tower::service_fn(move |request: Request<Full<Bytes>>| {
///     let server = server.clone();
///     async move {
///         let if_match = request.headers().get(header::IF_MATCH).cloned();
///         let method = request.method().clone();
///         let Ok(body) = request.into_body().collect().await;
///         let mut state = server.lock().unwrap();
///         let tag = format!("\"{}\"", state.0);
///         let response = match method {
///             Method::GET => {
///                 let response = Response::builder().header(header::ETAG, &tag);
///                 let body = state.0.to_string();
///                 state.1 += 1;
///                 if state.1 == 1 {
///                     state.0 += 1; // someone else writes right after our first read
///                 }
///                 response.body(Full::new(Bytes::from(body)))
///             }
///             _ if if_match.is_some_and(|value| value == tag.as_str()) => {
///                 state.0 = std::str::from_utf8(&body.to_bytes()).unwrap().parse().unwrap();
///                 let tag = format!("\"{}\"", state.0);
///                 Response::builder().status(204).header(header::ETAG, tag).body(Full::default())
///             }
///             _ => Response::builder().status(412).body(Full::default()),
///         };
///         Ok::<_, Infallible>(response.unwrap())
///     }
/// });
///
/// let increment = |current: &Current| match current.content() {
///     Some(bytes) => {
///         let value: u64 = std::str::from_utf8(bytes).unwrap().parse().unwrap();
///         Change::write((value + 1).to_string())
///     }
///     None => Change::write("1"),
/// };
/// let outcome = ConditionalUpdate::new(tokio::time::sleep)
///     .update(&mut client, "http://example.com/counter".parse()?, increment)
///     .await?;
///
/// match outcome {
///     Outcome::Written { status, validators, attempts } => {
///         assert_eq!(status, StatusCode::NO_CONTENT);
///         assert_eq!(attempts, 2); // the first write lost the race
///         assert_eq!(validators.etag().unwrap().to_string(), "\"43\"");
///     }
///     other => panic!("not written: {other:?}"),
/// }
/// assert_eq!(counter.lock().unwrap().0, 43); // 41, +1 by the other client, +1 by ours
/// # Ok(())
/// # }
/// ```
///
/// # Timer, headers, timeouts
///
/// The backoff needs a timer, and the crate stays runtime-agnostic: [`ConditionalUpdate::new`]
/// takes the sleep function, `tokio::time::sleep` on tokio, any `Fn(Duration) -> impl Future`
/// elsewhere. Headers every request needs (`Authorization`, the `Content-Type` of the writes)
/// and timeouts belong on the client service, as tower layers: tower-http's
/// `SetRequestHeaderLayer`, tower's `TimeoutLayer`.
///
/// [`max_attempts`]: ConditionalUpdate::max_attempts
#[derive(Clone)]
#[must_use]
pub struct ConditionalUpdate<Z> {
    sleep: Z,
    max_attempts: u32,
    backoff: Backoff,
}

impl<Z> fmt::Debug for ConditionalUpdate<Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionalUpdate")
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl<Z> ConditionalUpdate<Z> {
    /// The loop with its defaults: at most 5 writes, backoff capped at 20 ms after the first
    /// 412, doubling up to 1 s, slept with `sleep`.
    ///
    /// `sleep` is any `Fn(Duration) -> impl Future<Output = ()>`: `tokio::time::sleep`,
    /// `async_io::Timer::after` mapped to `()`, or a no-op for tests.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_conditional::ConditionalUpdate;
    ///
    /// let on_tokio = ConditionalUpdate::new(tokio::time::sleep);
    /// let no_wait = ConditionalUpdate::new(|_: Duration| std::future::ready(()));
    /// # let _ = (on_tokio, no_wait);
    /// ```
    pub fn new<Fut>(sleep: Z) -> Self
    where
        Z: Fn(Duration) -> Fut,
        Fut: Future<Output = ()>,
    {
        ConditionalUpdate {
            sleep,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff: DEFAULT_BACKOFF,
        }
    }

    /// At most `attempts` writes per update; after that many 412s the update ends with
    /// [`Outcome::Conflict`].
    ///
    /// # Panics
    ///
    /// When `attempts` is 0: an update that may not write is a bug.
    ///
    /// ```
    /// use tower_conditional::ConditionalUpdate;
    ///
    /// let patient = ConditionalUpdate::new(tokio::time::sleep).max_attempts(20);
    /// # let _ = patient;
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        assert!(attempts > 0, "an update needs at least one attempt");
        self.max_attempts = attempts;
        self
    }

    /// The backoff between a 412 and the refetch: after the n-th 412, a random duration between
    /// zero and `min(max, base × 2ⁿ⁻¹)` ("full jitter", so that writers that collided once do
    /// not collide again in step). `Duration::ZERO` for both retries at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_conditional::ConditionalUpdate;
    ///
    /// let retry = ConditionalUpdate::new(tokio::time::sleep)
    ///     .backoff(Duration::from_millis(1), Duration::from_millis(50));
    /// # let _ = retry;
    /// ```
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff = Backoff::new(base, max);
        self
    }
}

impl<Z, Fut> ConditionalUpdate<Z>
where
    Z: Fn(Duration) -> Fut,
    Fut: Future<Output = ()>,
{
    /// Updates the resource at `uri` with `change`: `GET`, `change`, `PUT` with a precondition,
    /// and on 412 again from a fresh `GET`, as the [type docs](ConditionalUpdate) describe.
    ///
    /// `change` sees the current state before every write, freshly read each time, and returns
    /// the new bytes or [`Change::Abort`]. It may run several times: make it a function of what
    /// it is shown (apply the edit, don't replay a precomputed body).
    ///
    /// The client's readiness is awaited before each request. Requests carry no body for `GET`
    /// and the change's bytes for `PUT`, as `B::from(bytes)`; responses are read whole.
    ///
    /// # Errors
    ///
    /// [`UpdateError::Service`] when the client fails, [`UpdateError::Body`] when a response
    /// body cannot be read. Every HTTP answer, 5xx included, is an [`Outcome`].
    ///
    /// # Example
    ///
    /// Against a server that refuses writes without a precondition (428): the update is
    /// refused once, never retried.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    ///
    /// use bytes::Bytes;
    /// use http::{Method, Request, Response, StatusCode};
    /// use http_body_util::Full;
    /// use tower_conditional::{Change, ConditionalUpdate, Outcome};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut client = tower::service_fn(|request: Request<Full<Bytes>>| async move {
    ///     let status = match *request.method() {
    ///         Method::GET => StatusCode::NOT_FOUND,
    ///         _ => StatusCode::PRECONDITION_REQUIRED,
    ///     };
    ///     let response = Response::builder().status(status).body(Full::new(Bytes::new()));
    ///     Ok::<_, Infallible>(response.unwrap())
    /// });
    /// let outcome = ConditionalUpdate::new(|_: Duration| std::future::ready(()))
    ///     .update(&mut client, "http://example.com/a".parse()?, |_| Change::write("new"))
    ///     .await?;
    /// assert!(matches!(
    ///     outcome,
    ///     Outcome::Refused { ref response, attempts: 1 }
    ///         if response.status() == StatusCode::PRECONDITION_REQUIRED
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn update<S, B, ResB, F>(
        &self,
        client: &mut S,
        uri: Uri,
        mut change: F,
    ) -> Result<Outcome, UpdateError<S::Error>>
    where
        S: Service<Request<B>, Response = Response<ResB>>,
        B: From<Bytes>,
        ResB: Body,
        ResB::Error: Into<BoxError>,
        F: FnMut(&Current) -> Change,
    {
        // The first read: a 404 is a missing resource, which the change may create.
        let response = exchange(client, request(Method::GET, &uri, Bytes::new())).await?;
        if !shows_state(response.status()) {
            return Ok(Outcome::Refused {
                response,
                attempts: 0,
            });
        }
        let mut current = current_of(response);

        let mut attempts = 0;
        loop {
            let Some((name, value)) = current.precondition() else {
                return Ok(Outcome::NoValidator { current, attempts });
            };
            let content = match change(&current) {
                Change::Write(content) => content,
                Change::Abort => return Ok(Outcome::Aborted { current, attempts }),
            };

            let mut put = request(Method::PUT, &uri, content);
            put.headers_mut().insert(name, value);
            attempts += 1;
            let response = exchange(client, put).await?;
            match response.status() {
                status if status.is_success() => {
                    return Ok(Outcome::Written {
                        status,
                        validators: validators_of(response.headers()),
                        attempts,
                    });
                }
                StatusCode::PRECONDITION_FAILED => {}
                // A replacing write finding nothing: deleted since our read.
                StatusCode::NOT_FOUND if current.is_present() => {
                    return Ok(Outcome::Gone { attempts });
                }
                _ => return Ok(Outcome::Refused { response, attempts }),
            }

            // 412: someone else wrote first.
            if attempts >= self.max_attempts {
                return Ok(Outcome::Conflict { current, attempts });
            }
            let delay = self.backoff.delay(attempts);
            if !delay.is_zero() {
                (self.sleep)(delay).await;
            }
            let response = exchange(client, request(Method::GET, &uri, Bytes::new())).await?;
            if !shows_state(response.status()) {
                return Ok(Outcome::Refused { response, attempts });
            }
            current = match current_of(response) {
                // Present or being created when we last looked, missing now: deleted.
                Current::Missing => return Ok(Outcome::Gone { attempts }),
                current => current,
            };
        }
    }
}

/// Whether a `GET` answer shows the resource's state: 2xx (a representation) or 404 (missing).
fn shows_state(status: StatusCode) -> bool {
    status.is_success() || status == StatusCode::NOT_FOUND
}

/// The state a `GET` answer [shows](shows_state).
fn current_of(response: Response<Bytes>) -> Current {
    if response.status() == StatusCode::NOT_FOUND {
        Current::Missing
    } else {
        Current::Present(Representation::from_response(response))
    }
}

/// A request without headers.
fn request<B: From<Bytes>>(method: Method, uri: &Uri, content: Bytes) -> Request<B> {
    let mut request = Request::new(B::from(content));
    *request.method_mut() = method;
    *request.uri_mut() = uri.clone();
    request
}

/// Sends `request` once the client is ready and reads the response whole.
async fn exchange<S, B, ResB>(
    client: &mut S,
    request: Request<B>,
) -> Result<Response<Bytes>, UpdateError<S::Error>>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    ResB: Body,
    ResB::Error: Into<BoxError>,
{
    poll_fn(|cx| client.poll_ready(cx))
        .await
        .map_err(UpdateError::Service)?;
    let response = client.call(request).await.map_err(UpdateError::Service)?;
    let (parts, body) = response.into_parts();
    let collected = body
        .collect()
        .await
        .map_err(|error| UpdateError::Body(error.into()))?;
    Ok(Response::from_parts(parts, collected.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "at least one attempt")]
    fn zero_attempts_is_a_bug() {
        let _ = ConditionalUpdate::new(|_| std::future::ready(())).max_attempts(0);
    }
}
