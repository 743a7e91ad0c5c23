//! How a PostgreSQL replica hears of every write: a trigger on `items` sends
//! `NOTIFY items_changed, '<key>'` (delivered when the writing transaction commits, whoever the
//! writer is: another replica, a script, `psql`), and each replica `LISTEN`s on a dedicated
//! connection outside the pool (pooled connections are handed to requests and never read
//! notifications; a transaction-mode pooler cannot `LISTEN` at all: point
//! `--validator-cache-listen` past it).
//!
//! The cache is used only while this connection listens. When it drops, or goes silent (a
//! heartbeat query every [`HEARTBEAT`] that does not answer within [`HEARTBEAT_TIMEOUT`]), the
//! replica switches the cache off and empties it: notifications sent meanwhile are lost, so until
//! it listens again every revalidation asks the database. It then reconnects, `LISTEN`s, empties
//! the cache once more and switches it back on.
//!
//! The heartbeat also reads `pg_notification_queue_usage()`. A listener that stops reading
//! (a stuck process, a session left in a long transaction) makes the server keep every
//! notification since; when the 8 GB queue is full, every transaction that notifies, that is
//! every write to `items`, fails at commit. This replica reads continuously, so a full queue
//! means another session: above [`QUEUE_WARNING`] the store logs a warning naming the fraction
//! used, for an operator to find the stuck listener (`pg_stat_activity`) and terminate it. It
//! does not stop writing or drop the trigger itself: that would silently break other replicas.

use std::future::poll_fn;
use std::time::Duration;

use deadpool_postgres::tokio_postgres::{self, AsyncMessage, Client, NoTls};

use tower_conditional::ValidatorCache;

/// The channel the trigger notifies; the payload is the item key, or empty for "every item".
const CHANNEL: &str = "items_changed";

/// How often the listening connection is asked whether it is alive.
pub const HEARTBEAT: Duration = Duration::from_millis(500);

/// How long a heartbeat may take before the connection counts as silent.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(1000);

/// The fraction of the notification queue in use above which the store warns.
const QUEUE_WARNING: f64 = 0.5;

/// Waits between reconnection attempts.
const RETRY: Duration = Duration::from_millis(200);

/// The trigger, created once under an advisory lock (replicas start together). A key too long
/// for a notification's payload (8000 bytes) is sent as the empty payload: everything.
const TRIGGER: &str = "
CREATE OR REPLACE FUNCTION items_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('items_changed', '');
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('items_changed',
            CASE WHEN octet_length(OLD.key) <= 1000 THEN OLD.key ELSE '' END);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.key IS DISTINCT FROM OLD.key) THEN
        PERFORM pg_notify('items_changed',
            CASE WHEN octet_length(NEW.key) <= 1000 THEN NEW.key ELSE '' END);
    END IF;
    RETURN NULL;
END $$;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'items_changed'
                   AND tgrelid = 'items'::regclass) THEN
        CREATE TRIGGER items_changed AFTER INSERT OR UPDATE OR DELETE ON items
            FOR EACH ROW EXECUTE FUNCTION items_notify();
        CREATE TRIGGER items_truncated AFTER TRUNCATE ON items
            FOR EACH STATEMENT EXECUTE FUNCTION items_notify();
    END IF;
END $$;";

/// The same advisory lock as the table's creation (`postgres.rs`).
const SCHEMA_LOCK: i64 = 0x0073_746f_7265_3133;

/// Listens for the store's notifications at `url`, for as long as the process runs.
pub fn spawn(url: String, cache: ValidatorCache<String>) {
    tokio::spawn(async move {
        loop {
            match listen(&url, &cache).await {
                Ok(Ended::Silent) => {
                    eprintln!("validator cache: listening connection silent; cache off")
                }
                Ok(Ended::Closed) => {
                    eprintln!("validator cache: listening connection closed; cache off")
                }
                Err(error) => eprintln!("validator cache: not listening ({error}); cache off"),
            }
            cache.switch_off();
            tokio::time::sleep(RETRY).await;
        }
    });
}

/// Why a listening connection was given up.
enum Ended {
    /// A heartbeat (or the connection's setup) did not answer in time.
    Silent,
    /// The server closed it.
    Closed,
}

/// One listening connection: returns when it drops or goes silent.
async fn listen(url: &str, cache: &ValidatorCache<String>) -> Result<Ended, tokio_postgres::Error> {
    let connecting = tokio_postgres::connect(url, NoTls);
    let (client, mut connection) = match tokio::time::timeout(HEARTBEAT_TIMEOUT, connecting).await {
        Ok(connected) => connected?,
        Err(_) => return Ok(Ended::Silent),
    };
    // The connection's future yields what the server sends unasked, and the notifications are
    // acted on right there, as they are read: no hop through another task, and nothing the
    // heartbeat does (a query waiting for its answer) holds them up. A notification that
    // arrives before the cache is switched on is covered by the switch's own emptying.
    let handle = cache.clone();
    let mut driver = tokio::spawn(async move {
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => match notification.payload() {
                    "" => handle.invalidate_all(),
                    key => handle.invalidate(&key.to_owned()),
                },
                Ok(_) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    });
    let outcome = tokio::select! {
        served = serve(&client, cache) => served,
        driven = &mut driver => match driven {
            Ok(Ok(())) => Ok(Ended::Closed),
            Ok(Err(error)) => Err(error),
            Err(_) => Ok(Ended::Closed), // the driver panicked
        },
    };
    driver.abort();
    outcome
}

/// Sets the connection up, switches the cache on, then asks it whether it is alive every
/// [`HEARTBEAT`]; returns when it does not answer, and errs when it fails.
async fn serve(
    client: &Client,
    cache: &ValidatorCache<String>,
) -> Result<Ended, tokio_postgres::Error> {
    let setup = async {
        client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK}); {TRIGGER} COMMIT; LISTEN {CHANNEL}"
            ))
            .await
    };
    match tokio::time::timeout(HEARTBEAT_TIMEOUT * 5, setup).await {
        Ok(done) => done?,
        Err(_) => return Ok(Ended::Silent),
    }
    // Every write committed from now on is heard; the entries from before are dropped.
    cache.switch_on();
    eprintln!("validator cache: listening for {CHANNEL}");
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        heartbeat.tick().await;
        let usage = client.query_one("SELECT pg_notification_queue_usage()", &[]);
        let usage: f64 = match tokio::time::timeout(HEARTBEAT_TIMEOUT, usage).await {
            Ok(row) => row?.get(0),
            Err(_) => return Ok(Ended::Silent),
        };
        if usage > QUEUE_WARNING {
            eprintln!(
                "validator cache: the notification queue is {:.0}% full: a session \
                 LISTENs without reading; when it is full, writes fail at commit",
                usage * 100.0
            );
        }
    }
}
