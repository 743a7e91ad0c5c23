//! PostgreSQL invalidation for [`tower_conditional`]'s [`ValidatorCache`]: a trigger that
//! notifies every changed key, and a listener (sqlx's [`PgListener`](sqlx::postgres::PgListener))
//! that invalidates it, so that replicas over one database never answer 304 from validators
//! another replica's write replaced.
//!
//! ```no_run
//! use http::request::Parts;
//! use tower_conditional::ValidatorCache;
//! use tower_conditional_postgres::{Listener, Trigger};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let cache = ValidatorCache::builder(|head: &Parts| {
//!     head.uri.path().strip_prefix("/items/")?.parse::<i64>().ok()
//! })
//! .build();
//! // `items.id` is the key; every replica installs the trigger (safely, together) and listens.
//! let listening = Listener::new("postgres://localhost/shop".parse()?, "items_changed")
//!     .installing(Trigger::new("items", "id"))
//!     .spawn(cache.clone()); // payloads parse as the cache's key, i64
//! // ... serve with `ConditionalLayer::validator_cache(cache)` ...
//! listening.shutdown().await; // the cache is off from here
//! # Ok(())
//! # }
//! ```
//!
//! # The gate
//!
//! The cache answers only while the listener hears every notification: it is switched off
//! (and emptied) as soon as the listener starts, and whenever its connection is lost; it is
//! switched on, empty, once `LISTEN` is confirmed on a new connection. While it is off, every
//! revalidation asks the source, so a missed notification never leaves a stale 304 behind.
//!
//! # When the connection drops, stalls, or the queue fills
//!
//! - **Drops** (the server closes it, a reset): the read fails at once; the cache is switched
//!   off, and the listener reconnects after [`reconnect_backoff`](Listener::reconnect_backoff)
//!   (doubling per failed attempt), then switches the cache on again.
//! - **Stalls** (a silent network, a peer gone without a reset): every
//!   [`heartbeat`](Listener::heartbeat) the listener queries the connection; one that does not
//!   answer within [`heartbeat_timeout`](Listener::heartbeat_timeout) counts as lost. So stale
//!   304s stop at most `heartbeat + heartbeat_timeout` (1.5 s by default) after the connection
//!   went silent. The abandoned connection is not closed politely (sqlx sends `UNLISTEN *` on
//!   it from a background task, which waits until the operating system gives the socket up).
//! - **The queue fills**: PostgreSQL keeps every notification until each listener has read it,
//!   in a queue of 8 GB by default. A session that `LISTEN`s and stops reading (a stuck
//!   process, a session idle in a long transaction) makes it grow; when it is full, every
//!   transaction that notifies (every write to a table with the trigger) fails at commit. This
//!   listener reads continuously; each heartbeat reads `pg_notification_queue_usage()` and logs
//!   it through [`tracing`]: a `warn` event above [`queue_warning`](Listener::queue_warning)
//!   (half, by default), for an operator to find the stuck session in `pg_stat_activity`. It
//!   does not drop the trigger or stop writes itself: that would break the other replicas.
//!
//! # Cancel safety
//!
//! The listener cancels sqlx's [`PgListener::try_recv`](sqlx::postgres::PgListener::try_recv)
//! when a heartbeat is due. sqlx documents no cancel safety for it; read in sqlx 0.9.1's
//! source, it is safe while connected: it waits on the connection's read, which keeps a partly
//! read message in its buffer (sqlx's note there: "this should be cancel-safe"; early versions
//! broke the protocol when cancelled, launchbadge/sqlx#1097), and notifications read during a
//! heartbeat query are buffered and returned by the next `try_recv`. It is *not* safe while
//! `try_recv` reconnects (the `eager_reconnect` default since launchbadge/sqlx#3585): cancelled
//! there, a later call would resume on a new connection without saying that notifications
//! were lost. This listener turns
//! `eager_reconnect` off, never calls `try_recv` after it reported a loss, and opens each
//! connection in a pool of its own, so a lost connection is never replaced unnoticed.
//! [`ListenerHandle::shutdown`] and dropping the handle may happen at any point.
//!
//! # Events
//!
//! Through [`tracing`]: `info` when listening, `warn` when the cache goes off (with why) and
//! when the queue is above the warning, `trace` for each heartbeat's queue usage.
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![forbid(unsafe_code)]

mod listener;
mod trigger;

pub use listener::{Listener, ListenerHandle};
pub use trigger::Trigger;

#[doc(no_inline)]
pub use tower_conditional::ValidatorCache;
