//! The store's command line (its flags are listed in [`USAGE`]).

use std::net::SocketAddr;
use std::time::Duration;

use super::database::Database;

/// Printed by `--help`, and after any command-line error.
pub const USAGE: &str = "\
usage: store [--addr HOST:PORT] [--database URL] [--tls-cert PEM --tls-key PEM]
             [--validator-cache [--validator-cache-max-age SECS] [--validator-cache-listen URL]]
  --addr HOST:PORT   where to listen (default 127.0.0.1:3000; env ADDR); HOST may be a name
                     such as localhost; port 0 picks a free port
  --database URL     where to keep items (env DATABASE_URL; default: process memory)
                     sqlite://PATH     a SQLite file, created if missing
                     postgres://...    a PostgreSQL database, shared by several stores
  --validator-cache  answer revalidations 304 from cached validators, without a query (see
                     the README's Validator cache); PostgreSQL replicas LISTEN for writes
  --validator-cache-max-age SECS
                     how late a 304 may be when an invalidation is lost (default 10)
  --validator-cache-listen URL
                     where a PostgreSQL replica LISTENs (default: --database; a direct
                     connection where the pool goes through a transaction-mode pooler)
  --tls-cert PATH    serve HTTPS (HTTP/2 or HTTP/1.1, by ALPN) with this PEM certificate chain;
  --tls-key PATH     and this PEM private key (both or neither). Without them: plain HTTP/1.1
                     and HTTP/2 (h2c, prior knowledge) on the same port
  -h, --help         print this and exit
Flags win over the environment.";

const DEFAULT_ADDR: &str = "127.0.0.1:3000";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `-h` or `--help`.
    Help,
    /// Run the server.
    Serve(Options),
}

/// How to run the server.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    /// `HOST:PORT`, not yet resolved.
    pub addr: String,
    /// `None`: process memory.
    pub database: Option<Database>,
    /// `--validator-cache`: the maximum age of its entries.
    pub validator_cache: Option<Duration>,
    /// `--validator-cache-listen`: where to LISTEN instead of `database`.
    pub listen: Option<String>,
    /// `--tls-cert` and `--tls-key`: serve HTTPS with them. `None`: plain HTTP.
    pub tls: Option<(String, String)>,
}

/// The default of `--validator-cache-max-age`.
pub const DEFAULT_CACHE_MAX_AGE: Duration = Duration::from_secs(10);

/// Parses the arguments (without the program name); `addr_env` and `database_env` are `$ADDR`
/// and `$DATABASE_URL`, used when the flag is absent.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    addr_env: Option<String>,
    database_env: Option<String>,
) -> Result<Command, String> {
    let mut addr = None;
    let mut database = None;
    let mut cache = false;
    let mut max_age = None;
    let mut listen = None;
    let (mut cert, mut key) = (None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let slot = match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--addr" => &mut addr,
            "--database" => &mut database,
            "--validator-cache" if inline.is_none() => {
                cache = true;
                continue;
            }
            "--validator-cache-max-age" => &mut max_age,
            "--validator-cache-listen" => &mut listen,
            "--tls-cert" => &mut cert,
            "--tls-key" => &mut key,
            _ => return Err(format!("unknown argument {arg:?}")),
        };
        let value = match inline {
            Some(value) => value,
            // A flag where its value should be is a missing value, not the value.
            None => args
                .next()
                .filter(|next| !next.starts_with("--"))
                .ok_or(format!("{flag} needs a value"))?,
        };
        *slot = Some(value);
    }
    let addr = addr.or(addr_env).unwrap_or_else(|| DEFAULT_ADDR.to_owned());
    let database = match database.or(database_env.filter(|url| !url.is_empty())) {
        Some(url) => Some(Database::parse(&url)?),
        None => None,
    };
    if !cache {
        for (flag, given) in [
            ("--validator-cache-max-age", max_age.is_some()),
            ("--validator-cache-listen", listen.is_some()),
        ] {
            if given {
                return Err(format!("{flag} needs --validator-cache"));
            }
        }
    }
    if let Some(url) = &listen {
        if !matches!(database, Some(Database::Postgres(_))) {
            return Err(String::from(
                "--validator-cache-listen needs a PostgreSQL --database",
            ));
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!(
                "invalid --validator-cache-listen URL {url:?}: expected postgres://..."
            ));
        }
    }
    let max_age = match max_age {
        None => DEFAULT_CACHE_MAX_AGE,
        Some(secs) => secs
            .parse::<f64>()
            .ok()
            .filter(|secs| secs.is_finite() && *secs > 0.0 && *secs <= 86_400.0)
            .map(Duration::from_secs_f64)
            // A positive value too small for a nanosecond is zero all the same.
            .filter(|max_age| !max_age.is_zero())
            .ok_or(format!(
                "invalid --validator-cache-max-age {secs:?}: seconds, 0 < SECS <= 86400"
            ))?,
    };
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".to_owned()),
    };
    Ok(Command::Serve(Options {
        addr,
        database,
        validator_cache: cache.then_some(max_age),
        listen,
        tls,
    }))
}

/// Resolves `HOST:PORT` (a literal address or a host name, e.g. `localhost:8080`) to the first
/// address it names.
pub async fn resolve(addr: &str) -> Result<SocketAddr, String> {
    let mut addrs = tokio::net::lookup_host(addr)
        .await
        .map_err(|error| format!("invalid address {addr:?}: {error}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("invalid address {addr:?}: the name resolves to no address"))
}
