//! [`Trigger`]: the `NOTIFY` a table sends, in its writing transaction, for every key it changes.

use sqlx::{Acquire, Postgres};

/// The one trigger function every table shares: the channel and the key column are the
/// trigger's arguments, so tables differ only in their triggers.
const FUNCTION: &str = "tower_conditional_notify";

/// The advisory lock that serialises installations (replicas that start together would
/// otherwise race on `CREATE OR REPLACE FUNCTION`: "tuple concurrently updated").
const INSTALL_LOCK: i64 = 0x7463_5f70_676e_6f74;

/// A payload must be shorter than 8000 bytes; a longer key is sent as the empty payload.
const PAYLOAD_LIMIT: usize = 8000;

/// The trigger that tells listeners which keys a table's writes changed.
///
/// For every row inserted, updated or deleted in `table`, it sends `NOTIFY channel, '<key>'`,
/// where `<key>` is the row's `column` as text (`to_jsonb(row) ->> column`: a text column's
/// string, a number's digits); an update that changes the key sends the old and the new one.
/// `TRUNCATE`, a `NULL` key and a key of 8000 bytes or more (longer than a payload may be) send
/// the empty payload, which listeners read as "everything". PostgreSQL delivers notifications
/// when the writing transaction commits, whoever the writer is (another replica, a script,
/// `psql`), and sends a key notified twice in one transaction once.
///
/// The table and column names are identifiers, quoted as given (so case-sensitive, and the
/// table is looked up on the `search_path`).
///
/// # Examples
///
/// ```
/// use tower_conditional_postgres::Trigger;
///
/// let trigger = Trigger::new("items", "sku");
/// assert_eq!(trigger.channel(), "items_changed");
/// assert!(trigger.sql().contains("CREATE OR REPLACE TRIGGER"));
/// let renamed = Trigger::new("items", "sku").with_channel("stock");
/// assert_eq!(renamed.channel(), "stock");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    table: String,
    column: String,
    channel: String,
}

impl Trigger {
    /// The trigger for `table`'s key `column`, notifying the channel `<table>_changed`.
    pub fn new(table: impl Into<String>, column: impl Into<String>) -> Self {
        let table = table.into();
        let channel = format!("{table}_changed");
        Trigger {
            table,
            column: column.into(),
            channel,
        }
    }

    /// Notifies `channel` instead of `<table>_changed`.
    #[must_use]
    pub fn with_channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The channel it notifies, for [`Listener::new`](crate::Listener::new).
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The SQL that installs it, for a migration: the shared trigger function, then the
    /// table's two triggers unless they already exist with the same arguments (so running it
    /// again changes nothing and takes no lock on the table).
    ///
    /// It is not safe to run concurrently with itself on its own:
    /// [`install`](Self::install) runs it under an advisory lock.
    pub fn sql(&self) -> String {
        let table = quote_identifier(&self.table);
        let rows = quote_identifier(&format!("{FUNCTION}_{}", self.channel));
        let truncated = quote_identifier(&format!("{FUNCTION}_{}_truncate", self.channel));
        let arguments = format!(
            "{}, {}",
            quote_literal(&self.channel),
            quote_literal(&self.column)
        );
        // `tgargs` holds the arguments as NUL-terminated bytes.
        let stored: String = [&self.channel, &self.column]
            .iter()
            .flat_map(|argument| argument.bytes().chain([0]))
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!(
            "CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    old_key text;
    new_key text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify(TG_ARGV[0], '');
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        old_key := to_jsonb(OLD) ->> TG_ARGV[1];
        PERFORM pg_notify(TG_ARGV[0],
            CASE WHEN octet_length(old_key) < {PAYLOAD_LIMIT} THEN old_key ELSE '' END);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_key := to_jsonb(NEW) ->> TG_ARGV[1];
        IF TG_OP = 'INSERT' OR new_key IS DISTINCT FROM old_key THEN
            PERFORM pg_notify(TG_ARGV[0],
                CASE WHEN octet_length(new_key) < {PAYLOAD_LIMIT} THEN new_key ELSE '' END);
        END IF;
    END IF;
    RETURN NULL;
END $fn$;
DO $do$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {table_literal}::regclass
                   AND tgname = {rows_literal} AND tgargs = '\\x{stored}'::bytea) THEN
        CREATE OR REPLACE TRIGGER {rows} AFTER INSERT OR UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {FUNCTION}({arguments});
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {table_literal}::regclass
                   AND tgname = {truncated_literal} AND tgargs = '\\x{stored}'::bytea) THEN
        CREATE OR REPLACE TRIGGER {truncated} AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}({arguments});
    END IF;
END $do$;",
            table_literal = quote_literal(&table),
            rows_literal = quote_literal(&format!("{FUNCTION}_{}", self.channel)),
            truncated_literal = quote_literal(&format!("{FUNCTION}_{}_truncate", self.channel)),
        )
    }

    /// Installs it, in one transaction under an advisory lock, so that replicas starting
    /// together (each installing it) neither fail nor install it twice. Takes a pool, a
    /// connection, or a [`PgListener`](sqlx::postgres::PgListener).
    ///
    /// # Errors
    ///
    /// The database's: no such table, no right to create functions or triggers (then install
    /// [`sql`](Self::sql) from a migration instead), or a lost connection.
    pub async fn install<'a, A>(&self, database: A) -> Result<(), sqlx::Error>
    where
        A: Acquire<'a, Database = Postgres>,
    {
        let mut transaction = database.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(INSTALL_LOCK)
            .execute(&mut *transaction)
            .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(self.sql()))
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await
    }
}

/// `name` as a quoted SQL identifier.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a quoted SQL string literal (standard-conforming strings: only quotes double).
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted_so_names_cannot_inject_sql() {
        let trigger = Trigger::new("it\"ems", "k'ey").with_channel("ch'an");
        let sql = trigger.sql();
        assert!(sql.contains("ON \"it\"\"ems\""));
        assert!(sql.contains("('ch''an', 'k''ey')"));
    }

    #[test]
    fn stored_arguments_are_the_channel_and_column_nul_terminated() {
        let sql = Trigger::new("t", "k").with_channel("c").sql();
        assert!(sql.contains("tgargs = '\\x63006b00'::bytea"));
    }
}
