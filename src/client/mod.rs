//! The client's half: read, modify, write with a precondition, and on 412 refetch and re-apply
//! the change, a bounded number of times with jittered backoff; every response read within a
//! limit, and a lost response never taken for a write that did or did not happen.
//!
//! See [`ConditionalUpdate`] for the protocol and an example.

mod backoff;
mod change;
mod current;
mod exchange;
mod outcome;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, IF_MATCH};
use http::{Request, Response, StatusCode, Uri};
use http_body::Body;
use tower::Service;

use crate::source::BoxError;

pub use change::{Change, InvalidWrite, WriteRequest};
pub use current::{Current, Representation};
pub use outcome::{Outcome, UpdateError};

use backoff::Backoff;
use current::validators_of;
use exchange::{Failure, Fetched, drain, fetch, is_missing, read, send};

/// Writes sent at most by default: the first and four retries.
const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// By default the first backoff is capped at 20 ms, doubling with each 412 up to 1 s.
const DEFAULT_BACKOFF: Backoff = Backoff::new(Duration::from_millis(20), Duration::from_secs(1));

/// The default for [`ConditionalUpdate::response_limit`]: 16 MiB.
const DEFAULT_RESPONSE_LIMIT: usize = 16 << 20;

/// A read-modify-write loop with preconditions: the configuration, and
/// [`update`](ConditionalUpdate::update) to run it.
///
/// `Z` is the sleep function used for backoff (`tokio::time::sleep` on tokio). The
/// configuration is cheap to clone and can run any number of updates, concurrently too.
///
/// [`ConditionalUpdate::update`] drives any tower HTTP client service (hyper-util's `Client`, a
/// `tower::service_fn`, an axum `Router` in tests) through the loop RFC 9110 §13 sets up:
///
/// 1. `GET` the target. 2xx: the representation. 404 or 410: [`Current::Missing`].
/// 2. Hand it to the change function, which answers the write to send, [`Change::put`],
///    [`Change::patch`], [`Change::delete`] or any other method ([`Change::send`]), with its
///    content type and headers; or [`Change::Abort`].
/// 3. Send it with a precondition naming the version read: `If-Match` with its strong `ETag`,
///    or `If-Unmodified-Since` with its `Last-Modified`, or `If-None-Match: *` to create a
///    missing resource. Without any of these nothing is sent ([`Outcome::NoValidator`]): a
///    write without a precondition can overwrite someone else's edit. The change cannot set or
///    drop the precondition.
/// 4. On 412 Precondition Failed (and, [opted in](ConditionalUpdate::retry_409), 409 Conflict)
///    someone else wrote first: wait a jittered backoff, `GET` again and go back to 2 with the
///    fresh representation, up to [`max_attempts`] writes. The 412's own `ETag` is not used:
///    the function must see the bytes a tag belongs to, and the 412 carries a problem
///    document, not the representation.
///
/// Everything else ends the loop: 2xx is [`Outcome::Written`]; a 404 or 410 after the first
/// `GET` (on a refetch, or to a write based on a representation) is [`Outcome::Gone`], because
/// recreating the resource would undo someone's delete; 400 and 428 (this side's bug: a
/// malformed or missing precondition) and any other status are [`Outcome::Refused`] with the
/// response, never retried. A lost response is [`Outcome::Unknown`] or
/// [`UpdateError::Unconfirmed`] (next section); other failures of the service, or of reading a
/// body, are the other [`UpdateError`]s.
///
/// # Lost responses
///
/// When the client service fails after it was handed a write (a timeout, a connection reset),
/// the write may or may not have reached the server and been applied. Retrying blindly can
/// apply the change twice; giving up can lose it; and comparing the current content with what
/// was written proves nothing (another writer may have written the same, or written again
/// since). So the update refetches the resource, and:
///
/// - if the resource still carries the strong `ETag` the write was conditional on, and the
///   server's tags are declared never to repeat
///   ([`etags_never_repeat`](ConditionalUpdate::etags_never_repeat), off by default), the
///   write has not been applied: the loop goes on and retries it, conditional on the same tag;
/// - otherwise the outcome is [`Outcome::Unknown`], with the refetched state, and the update
///   stops: it never retries such a write on its own;
/// - when the refetch fails too, the update ends with [`UpdateError::Unconfirmed`].
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
///         Change::put((value + 1).to_string()).content_type("text/plain")
///     }
///     None => Change::put("1").content_type("text/plain"),
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
/// # Timer, headers, limits, timeouts
///
/// The backoff needs a timer, and the crate stays runtime-agnostic: [`ConditionalUpdate::new`]
/// takes the sleep function, `tokio::time::sleep` on tokio, any `Fn(Duration) -> impl Future`
/// elsewhere. Each write carries the method, `Content-Type` and headers its [`Change`] sets;
/// headers every request needs (`Authorization`, `Accept`) and timeouts belong on the client
/// service, as tower layers: tower-http's `SetRequestHeaderLayer`, tower's `TimeoutLayer`.
/// A timeout in the service makes a write's response lost, and is reported as such; a timeout
/// around the whole `update` future cannot be: if it fires during a write, nobody learns what
/// became of it.
///
/// Every response body is read within [`response_limit`](ConditionalUpdate::response_limit)
/// (16 MiB by default), so a broken or hostile server cannot make the update buffer without
/// bound. That bounds memory; a body that trickles forever is bounded in time only by the
/// service (hyper-util's client takes a read timeout on its connector's sockets).
///
/// [`max_attempts`]: ConditionalUpdate::max_attempts
#[derive(Clone)]
#[must_use]
pub struct ConditionalUpdate<Z> {
    sleep: Z,
    max_attempts: u32,
    backoff: Backoff,
    response_limit: usize,
    etags_never_repeat: bool,
    retry_409: bool,
}

impl<Z> fmt::Debug for ConditionalUpdate<Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionalUpdate")
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("response_limit", &self.response_limit)
            .field("etags_never_repeat", &self.etags_never_repeat)
            .field("retry_409", &self.retry_409)
            .finish_non_exhaustive()
    }
}

impl<Z> ConditionalUpdate<Z> {
    /// The loop with its defaults: at most 5 writes, backoff capped at 20 ms after the first
    /// 412, doubling up to 1 s, slept with `sleep`; responses read up to
    /// 16 MiB; tags not trusted never to repeat; 409 refused.
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
            response_limit: DEFAULT_RESPONSE_LIMIT,
            etags_never_repeat: false,
            retry_409: false,
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

    /// The backoff between a 412 (or a lost response) and the refetch: after the n-th, a
    /// random duration between zero and `min(max, base × 2ⁿ⁻¹)` ("full jitter", so that
    /// writers that collided once do not collide again in step). `Duration::ZERO` for both
    /// retries at once.
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

    /// The longest response body the update reads, in bytes: 16 MiB unless set.
    ///
    /// A `GET` whose representation is longer, or a refused write whose body is, ends the
    /// update with [`UpdateError::ResponseTooLarge`], which names the limit; the update stops
    /// reading at the limit (or at once, when `Content-Length` announces more). The bodies of
    /// accepted writes and of 412s, which the update does not need, are read up to the limit
    /// and dropped, without failing it.
    ///
    /// The default fits any document one would read, modify and write back whole, and keeps a
    /// few hundred concurrent updates within memory; raise it for larger representations.
    ///
    /// ```
    /// use tower_conditional::ConditionalUpdate;
    ///
    /// let small_documents = ConditionalUpdate::new(tokio::time::sleep).response_limit(64 * 1024);
    /// # let _ = small_documents;
    /// ```
    pub fn response_limit(mut self, bytes: usize) -> Self {
        self.response_limit = bytes;
        self
    }

    /// Declares that the server never issues the same strong `ETag` twice for the target, over
    /// its whole life (across deletes and re-creations too): off by default.
    ///
    /// Tags that qualify: a version counter that only grows and is never reset (a row version,
    /// Kubernetes' `resourceVersion`, a log sequence number), or an id drawn fresh for every
    /// write (a UUID or ULID stored with the row). Tags that do not: anything derived from the
    /// content (a hash, [`ETag::from_content`](crate::ETag::from_content), S3's MD5 tags),
    /// since another writer can restore the bytes a write replaced (an undo, a toggle) and the
    /// old tag comes back with them; a counter reset when the resource is re-created.
    ///
    /// With it on, after a lost response a refetch that still shows the tag the write was
    /// conditional on proves the write was not applied (had it been, the tag would have changed
    /// for good), and the update goes on: it refetched, re-applies the change and writes again,
    /// conditional on the same tag. The lost write may still be in flight (in a proxy, or a
    /// handler that commits late), but the two cannot both apply: whichever the server applies
    /// first changes the tag the other needs, given a server whose `If-Match` check and write
    /// are one compare-and-set. So a 2xx to the retry is [`Outcome::Written`], and any other end
    /// before one (a 412, an abort, the last attempt) is [`Outcome::Unknown`].
    ///
    /// The inference never applies to a create (`If-None-Match: *`: a resource created and
    /// deleted again looks like one never created) or to a write conditional on a date
    /// (`If-Unmodified-Since`: a write in the same second keeps the date); their lost
    /// responses are always [`Outcome::Unknown`], as every lost response is with this off.
    ///
    /// If the tags do repeat, a write that was applied can look unapplied and be applied
    /// twice: leave it off unless you know where the server's tags come from.
    ///
    /// ```
    /// use tower_conditional::ConditionalUpdate;
    ///
    /// // The server's ETag is the row's version column, incremented by every write.
    /// let versioned = ConditionalUpdate::new(tokio::time::sleep).etags_never_repeat(true);
    /// # let _ = versioned;
    /// ```
    pub fn etags_never_repeat(mut self, never_repeat: bool) -> Self {
        self.etags_never_repeat = never_repeat;
        self
    }

    /// Treats a 409 Conflict to a write as a lost race, like a 412: refetch, re-apply the
    /// change, write again. Off by default.
    ///
    /// For servers that answer a concurrent conditional write so (S3 answers 409
    /// `ConditionalRequestConflict` when a conditional write races another). Elsewhere a 409
    /// usually says that the content conflicts with the resource's state (a uniqueness rule, an
    /// invalid transition), which retrying the same change will not fix: by default it is
    /// [`Outcome::Refused`], like 400 and 428, which this setting never retries.
    ///
    /// ```
    /// use tower_conditional::ConditionalUpdate;
    ///
    /// let against_s3 = ConditionalUpdate::new(tokio::time::sleep).retry_409(true);
    /// # let _ = against_s3;
    /// ```
    pub fn retry_409(mut self, retry: bool) -> Self {
        self.retry_409 = retry;
        self
    }
}

/// What a refetch after a lost response showed.
enum AfterLoss {
    /// The tag the write was conditional on, trusted never to repeat: not applied.
    NotApplied(Current),
    /// Anything else.
    Unknown(Current),
}

impl<Z, Fut> ConditionalUpdate<Z>
where
    Z: Fn(Duration) -> Fut,
    Fut: Future<Output = ()>,
{
    /// Updates the resource at `uri` with `change`: `GET`, `change`, the write it asks for with
    /// a precondition, and on 412 again from a fresh `GET`, as the
    /// [type docs](ConditionalUpdate) describe.
    ///
    /// `change` sees the current state before every write, freshly read each time, and returns
    /// the write or [`Change::Abort`]. It may run several times: make it a function of what it
    /// is shown (apply the edit, don't replay a precomputed body).
    ///
    /// The client's readiness is awaited before each request. Requests carry no body for `GET`
    /// and the change's content for writes, as `B::from(bytes)`; responses are read within the
    /// [`response_limit`](ConditionalUpdate::response_limit).
    ///
    /// # Errors
    ///
    /// [`UpdateError::Unconfirmed`] when a write's response was lost and the update could not
    /// tell what became of it; [`UpdateError::Service`] when the client fails otherwise,
    /// [`UpdateError::Body`] when a response body cannot be read,
    /// [`UpdateError::ResponseTooLarge`] past the limit, [`UpdateError::InvalidWrite`] when the
    /// change asks for a write that cannot be sent. Every HTTP answer, 5xx included, is an
    /// [`Outcome`].
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
    ///     .update(&mut client, "http://example.com/a".parse()?, |_| Change::put("new"))
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
        let limit = self.response_limit;
        // The first read: a 404 or 410 is a missing resource, which the change may create.
        let mut current = match fetch(client, &uri, limit).await? {
            Fetched::State(current) => current,
            Fetched::Other(response) => {
                return Ok(Outcome::Refused {
                    response,
                    attempts: 0,
                });
            }
        };

        let mut attempts = 0;
        // Set while a write whose response was lost is unsettled (a refetch showed it not
        // applied, so the loop went on): its error. From then on only a 2xx to a write
        // conditional on the same tag settles it; every other end is `Unknown`/`Unconfirmed`.
        let mut lost: Option<S::Error> = None;
        loop {
            let Some(precondition) = current.precondition() else {
                return Ok(match lost {
                    None => Outcome::NoValidator { current, attempts },
                    // Not reached: after a loss the loop goes on only with the same strong tag.
                    Some(_) => Outcome::Unknown { current, attempts },
                });
            };
            let write = match change(&current) {
                Change::Write(write) => write,
                Change::Abort if lost.is_some() => {
                    return Ok(Outcome::Unknown { current, attempts });
                }
                Change::Abort => return Ok(Outcome::Aborted { current, attempts }),
            };
            let method = write.method().clone();
            let request = match write.into_request(&uri, precondition.clone()) {
                Ok(request) => request,
                Err(invalid) => return Err(unsettled(lost, UpdateError::InvalidWrite(invalid))),
            };

            attempts += 1;
            let response = match send(client, request).await {
                Ok(response) => response,
                Err(Failure::NotSent(error)) => {
                    return Err(unsettled(lost, UpdateError::Service(error)));
                }
                Err(Failure::Lost(error)) => {
                    match self.after_loss(client, &uri, &precondition, attempts).await {
                        Ok(AfterLoss::NotApplied(now)) => {
                            lost = Some(error);
                            current = now;
                            continue;
                        }
                        Ok(AfterLoss::Unknown(now)) => {
                            return Ok(Outcome::Unknown {
                                current: now,
                                attempts,
                            });
                        }
                        Err(refetch) => return Err(unsettled(Some(error), refetch)),
                    }
                }
            };

            let (parts, body) = response.into_parts();
            let status = parts.status;
            if status.is_success() {
                drain(body, limit).await;
                return Ok(Outcome::Written {
                    status,
                    validators: validators_of(&parts.headers),
                    attempts,
                });
            }
            let lost_race = status == StatusCode::PRECONDITION_FAILED
                || (status == StatusCode::CONFLICT && self.retry_409);
            if lost_race {
                drain(body, limit).await;
                if let Some(lost) = lost {
                    // Someone else's write, or the lost one applied late: no telling.
                    return match fetch(client, &uri, limit).await {
                        Ok(Fetched::State(now)) => Ok(Outcome::Unknown {
                            current: now,
                            attempts,
                        }),
                        Ok(Fetched::Other(response)) => {
                            Err(unsettled(Some(lost), UpdateError::Status(response)))
                        }
                        Err(error) => Err(unsettled(Some(lost), error)),
                    };
                }
                if attempts >= self.max_attempts {
                    return Ok(Outcome::Conflict { current, attempts });
                }
                self.pause(attempts).await;
                current = match fetch(client, &uri, limit).await? {
                    // Present or being created when we last looked, missing now: deleted.
                    Fetched::State(Current::Missing) => return Ok(Outcome::Gone { attempts }),
                    Fetched::State(now) => now,
                    Fetched::Other(response) => {
                        return Ok(Outcome::Refused { response, attempts });
                    }
                };
                continue;
            }
            // A write based on a representation finding nothing: deleted since our read.
            if is_missing(status) && current.is_present() {
                drain(body, limit).await;
                return Ok(match lost {
                    None => Outcome::Gone { attempts },
                    Some(_) => Outcome::Unknown {
                        current: Current::Missing,
                        attempts,
                    },
                });
            }
            let response = match read(Response::from_parts(parts, body), &method, limit).await {
                Ok(response) => response,
                Err(error) => return Err(unsettled(lost, error)),
            };
            return match lost {
                None => Ok(Outcome::Refused { response, attempts }),
                Some(lost) => Err(unsettled(Some(lost), UpdateError::Status(response))),
            };
        }
    }

    /// After the `attempts`-th write lost its response: a backoff, a refetch, and whether it
    /// shows the write was not applied (see [`etags_never_repeat`]).
    ///
    /// [`etags_never_repeat`]: ConditionalUpdate::etags_never_repeat
    async fn after_loss<S, B, ResB>(
        &self,
        client: &mut S,
        uri: &Uri,
        precondition: &(HeaderName, HeaderValue),
        attempts: u32,
    ) -> Result<AfterLoss, UpdateError<S::Error>>
    where
        S: Service<Request<B>, Response = Response<ResB>>,
        B: From<Bytes>,
        ResB: Body,
        ResB::Error: Into<BoxError>,
    {
        self.pause(attempts).await;
        let now = match fetch(client, uri, self.response_limit).await? {
            Fetched::State(now) => now,
            Fetched::Other(response) => return Err(UpdateError::Status(response)),
        };
        // Only a strong tag that never repeats proves anything: not `If-None-Match: *`, not a
        // date. The comparison is byte for byte, as If-Match's strong comparison (§8.8.3.2).
        let unchanged =
            precondition.0 == IF_MATCH && now.precondition().as_ref() == Some(precondition);
        if self.etags_never_repeat && unchanged && attempts < self.max_attempts {
            Ok(AfterLoss::NotApplied(now))
        } else {
            Ok(AfterLoss::Unknown(now))
        }
    }

    /// The backoff after the `failures`-th lost race or lost response.
    async fn pause(&self, failures: u32) {
        let delay = self.backoff.delay(failures);
        if !delay.is_zero() {
            (self.sleep)(delay).await;
        }
    }
}

/// `error`, or, while the write whose response was `lost` is unsettled, `Unconfirmed`.
fn unsettled<E>(lost: Option<E>, error: UpdateError<E>) -> UpdateError<E> {
    match lost {
        None => error,
        Some(lost) => UpdateError::Unconfirmed {
            lost,
            error: Box::new(error),
        },
    }
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
