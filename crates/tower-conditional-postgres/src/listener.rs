//! [`Listener`]: a task that hears a channel's notifications and invalidates the cache.

use std::fmt;
use std::hash::Hash;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgListener};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout, timeout_at};
use tower_conditional::ValidatorCache;

use crate::trigger::Trigger;

/// The default of [`Listener::heartbeat`].
const DEFAULT_HEARTBEAT: Duration = Duration::from_millis(500);

/// The default of [`Listener::heartbeat_timeout`].
const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(1);

/// The default of [`Listener::connect_timeout`].
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The defaults of [`Listener::reconnect_backoff`]: the first wait, and the longest.
const DEFAULT_RECONNECT_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(5));

/// The default of [`Listener::queue_warning`]: half the notification queue.
const DEFAULT_QUEUE_WARNING: f64 = 0.5;

/// Listens on a dedicated connection for the keys a [`Trigger`] notifies, and invalidates
/// them in a [`ValidatorCache`], which it switches off whenever it may miss one.
///
/// Made with [`new`](Self::new), configured with the setters, and started with
/// [`spawn`](Self::spawn) (keys parsed with [`FromStr`]) or [`spawn_with`](Self::spawn_with)
/// (keys mapped by a closure). See the [crate documentation](crate) for what happens when the
/// connection drops or stalls, or the notification queue fills.
#[must_use]
#[derive(Clone)]
pub struct Listener {
    options: PgConnectOptions,
    channel: String,
    trigger: Option<Trigger>,
    heartbeat: Duration,
    heartbeat_timeout: Duration,
    connect_timeout: Duration,
    backoff: (Duration, Duration),
    queue_warning: f64,
}

impl Listener {
    /// Listens on `channel` of the database `options` names (parse them from a URL with
    /// `"postgres://...".parse()`). Connect it past any transaction-mode pooler (PgBouncer's
    /// transaction mode cannot `LISTEN`).
    pub fn new(options: PgConnectOptions, channel: impl Into<String>) -> Self {
        Listener {
            options,
            channel: channel.into(),
            trigger: None,
            heartbeat: DEFAULT_HEARTBEAT,
            heartbeat_timeout: DEFAULT_HEARTBEAT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            backoff: DEFAULT_RECONNECT_BACKOFF,
            queue_warning: DEFAULT_QUEUE_WARNING,
        }
    }

    /// Installs `trigger` ([`Trigger::install`]) on each new connection before listening, and
    /// listens on its channel: a replica then needs no migration, and a dropped trigger comes
    /// back with the next connection. Installing needs the right to create functions and
    /// triggers on the table; while it fails the listener does not listen (the cache stays
    /// off) and retries, so without that right install [`Trigger::sql`] from a migration and
    /// leave this out.
    pub fn installing(mut self, trigger: Trigger) -> Self {
        self.channel = trigger.channel().to_owned();
        self.trigger = Some(trigger);
        self
    }

    /// How often the connection is asked whether it is alive, with a query that also reads the
    /// notification queue's usage (default 500 ms). A stalled connection is given up within `heartbeat` plus
    /// [`heartbeat_timeout`](Self::heartbeat_timeout).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// How long a heartbeat query may take before the connection counts as stalled (default
    /// 1 s).
    pub fn heartbeat_timeout(mut self, timeout: Duration) -> Self {
        self.heartbeat_timeout = timeout;
        self
    }

    /// How long connecting, installing the trigger and `LISTEN` may take together (default
    /// 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The wait before reconnecting: `first` after a connection that listened, doubling after
    /// each failed attempt up to `longest` (defaults 100 ms, up to 5 s).
    pub fn reconnect_backoff(mut self, first: Duration, longest: Duration) -> Self {
        self.backoff = (first, longest.max(first));
        self
    }

    /// The fraction of the server's notification queue in use at or above which each
    /// heartbeat logs a warning (default 0.5; 0 warns at every one).
    pub fn queue_warning(mut self, fraction: f64) -> Self {
        self.queue_warning = fraction;
        self
    }

    /// Starts listening in a task, invalidating the key each payload parses to (a payload that
    /// does not parse, and the empty payload, invalidate everything).
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, as [`tokio::spawn`].
    pub fn spawn<K>(self, cache: ValidatorCache<K>) -> ListenerHandle
    where
        K: FromStr + Hash + Eq + Clone + Send + Sync + 'static,
    {
        self.spawn_with(cache, |payload| payload.parse().ok())
    }

    /// Starts listening in a task, invalidating the key `key` maps each payload to. `None`
    /// means "cannot tell": everything is invalidated, as for the empty payload.
    ///
    /// The cache is switched off at once, and on when `LISTEN` is confirmed.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, as [`tokio::spawn`].
    pub fn spawn_with<K, F>(self, cache: ValidatorCache<K>, key: F) -> ListenerHandle
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        F: Fn(&str) -> Option<K> + Send + Sync + 'static,
    {
        cache.switch_off();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(self, cache.clone(), key, stopped));
        ListenerHandle {
            stop: Some(stop),
            task: Some(task),
            switch_off: Box::new(move || cache.switch_off()),
        }
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the connect options: they hold the password.
        f.debug_struct("Listener")
            .field("host", &self.options.get_host())
            .field("port", &self.options.get_port())
            .field("database", &self.options.get_database())
            .field("channel", &self.channel)
            .field("trigger", &self.trigger)
            .field("heartbeat", &self.heartbeat)
            .field("heartbeat_timeout", &self.heartbeat_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect_backoff", &self.backoff)
            .field("queue_warning", &self.queue_warning)
            .finish()
    }
}

/// The running [`Listener`]: dropping it, or [`shutdown`](Self::shutdown), stops it and
/// switches the cache off (no one invalidates it any more).
#[must_use = "dropping the handle stops the listener"]
pub struct ListenerHandle {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    switch_off: Box<dyn Fn() + Send + Sync>,
}

impl ListenerHandle {
    /// Stops the listener and waits for its task to end; the cache is off when it returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        (self.switch_off)();
    }

    /// Whether the task has ended (only by [`shutdown`](Self::shutdown), or a panic).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        (self.switch_off)();
    }
}

impl fmt::Debug for ListenerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerHandle")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

/// Why a listening connection was given up.
enum Ended {
    /// Connecting, or a heartbeat, did not answer in time.
    Stalled,
    /// The server closed the connection.
    Closed,
    /// The database said no, or the connection failed.
    Failed(sqlx::Error),
}

/// Listens, reconnecting with backoff, until `stopped` fires (or its sender is dropped).
async fn run<K, F>(
    config: Listener,
    cache: ValidatorCache<K>,
    key: F,
    mut stopped: oneshot::Receiver<()>,
) where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    F: Fn(&str) -> Option<K>,
{
    let (first, longest) = config.backoff;
    let mut backoff = first;
    loop {
        let mut listened = false;
        let ended = tokio::select! {
            _ = &mut stopped => break,
            ended = session(&config, &cache, &key, &mut listened) => ended,
        };
        // Deaf from here until the next LISTEN: whatever is cached may be invalidated unheard.
        cache.switch_off();
        let channel = &config.channel;
        match ended {
            Ended::Stalled => tracing::warn!(channel, "validator cache off: connection stalled"),
            Ended::Closed => tracing::warn!(channel, "validator cache off: connection closed"),
            Ended::Failed(error) => {
                tracing::warn!(channel, %error, "validator cache off: not listening")
            }
        }
        if listened {
            backoff = first;
        }
        tokio::select! {
            _ = &mut stopped => break,
            () = sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(longest);
    }
    cache.switch_off();
    tracing::debug!(channel = config.channel, "validator cache listener stopped");
}

/// One connection: sets it up, switches the cache on, then hears notifications and sends a
/// heartbeat every [`Listener::heartbeat`]. Returns when it ends.
async fn session<K, F>(
    config: &Listener,
    cache: &ValidatorCache<K>,
    key: &F,
    listened: &mut bool,
) -> Ended
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    F: Fn(&str) -> Option<K>,
{
    let setup = async {
        // A pool of its own, of one connection, so that dropping the listener lets it go: a
        // lost connection is never replaced behind our back (PgListener reconnects through its
        // pool, and notifications sent meanwhile would be lost unnoticed).
        let pool = PoolOptions::<Postgres>::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(config.connect_timeout)
            .connect_lazy_with(config.options.clone());
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.eager_reconnect(false);
        if let Some(trigger) = &config.trigger {
            trigger.install(&mut listener).await?;
        }
        listener.listen(&config.channel).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    let mut listener = match timeout(config.connect_timeout, setup).await {
        Ok(Ok(listener)) => listener,
        Ok(Err(error)) => return Ended::Failed(error),
        Err(_) => return Ended::Stalled,
    };
    // Every commit from now on is heard; what was cached before is dropped.
    cache.switch_on();
    *listened = true;
    tracing::info!(channel = config.channel, "validator cache on: listening");
    let mut due = Instant::now() + config.heartbeat;
    loop {
        if Instant::now() >= due {
            let usage = sqlx::query_scalar::<_, f64>("SELECT pg_notification_queue_usage()")
                .fetch_one(&mut listener);
            match timeout(config.heartbeat_timeout, usage).await {
                Ok(Ok(usage)) => report_queue(&config.channel, usage, config.queue_warning),
                Ok(Err(error)) => return Ended::Failed(error),
                Err(_) => return Ended::Stalled,
            }
            due = Instant::now() + config.heartbeat;
        }
        // Cancelling `try_recv` at the deadline loses nothing: it keeps a partly read message
        // in the connection's buffer (see the crate docs, "Cancel safety").
        match timeout_at(due, listener.try_recv()).await {
            Err(_) => {} // a heartbeat is due
            Ok(Ok(Some(notification))) => match notification.payload() {
                "" => cache.invalidate_all(),
                payload => match key(payload) {
                    Some(key) => cache.invalidate(&key),
                    None => cache.invalidate_all(),
                },
            },
            // Lost (with `eager_reconnect(false)` it does not reconnect by itself).
            Ok(Ok(None)) => return Ended::Closed,
            Ok(Err(error)) => return Ended::Failed(error),
        }
    }
}

/// Logs the notification queue's usage; at or above `warning`, as a warning.
fn report_queue(channel: &str, usage: f64, warning: f64) {
    if usage >= warning {
        tracing::warn!(
            channel,
            usage,
            "the notification queue is {:.0}% full: a session LISTENs without reading (see \
             pg_stat_activity); when it is full, every transaction that notifies fails at commit",
            usage * 100.0
        );
    } else {
        tracing::trace!(channel, usage, "heartbeat");
    }
}
