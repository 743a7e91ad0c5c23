//! The built `store` example as a child process, for tests that need real processes (several
//! replicas, the command line).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

use crate::support::Server;

/// `target/<profile>/examples/store`, beside the `deps/` directory holding this test binary.
///
/// `cargo test` builds the examples before it runs the tests; `cargo test --test NAME` does not,
/// so run `cargo build --example store` first when running one test file alone.
pub fn store_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let binary = profile_dir.join("examples").join("store");
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test`, which builds the examples",
        binary.display()
    );
    binary
}

/// A running store process, killed when dropped, and a client for it.
pub struct StoreProcess {
    pub server: Server,
    _child: Child,
    _stdout: ChildStdout,
}

impl StoreProcess {
    /// Starts `store ARGS` (without `DATABASE_URL` or `ADDR` from this environment) and waits for
    /// its `listening on http://ADDR` line. Its stderr goes to `log`.
    pub async fn start(args: &[&str], log: &Path) -> StoreProcess {
        let log_file = std::fs::File::create(log).expect("create the store's log");
        let mut child = Command::new(store_binary())
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("ADDR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("start the store example");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = timeout(Duration::from_secs(30), stdout.read_line(&mut line)).await;
        let addr: Option<SocketAddr> = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|addr| addr.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill().await;
            panic!(
                "store {args:?} did not report its address ({read:?}, stdout {line:?}); its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        StoreProcess {
            server: Server::at(addr),
            _child: child,
            _stdout: stdout.into_inner(),
        }
    }
}

/// What a store process that exits by itself printed, and its exit code.
#[derive(Debug)]
pub struct Exit {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `store ARGS` to completion (for arguments that make it exit), within 30 seconds.
pub async fn run_to_exit(args: &[&str]) -> Exit {
    let output = Command::new(store_binary())
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("ADDR")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = timeout(Duration::from_secs(30), output)
        .await
        .expect("the store exits")
        .expect("run the store");
    Exit {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
