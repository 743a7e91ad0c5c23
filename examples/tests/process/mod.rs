//! The built examples (`store`, `hyper`) as child processes, for tests that need real processes
//! (several replicas, the command line, the very binary a user runs).
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
pub fn store_binary() -> PathBuf {
    example_binary("store")
}

/// `target/<profile>/examples/NAME`.
///
/// `cargo test` builds the examples before it runs the tests; `cargo test --test NAME` does not,
/// so run `cargo build --examples` first when running one test file alone.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
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
    /// its `listening on http://ADDR` (or `https://ADDR`) line. Its stderr goes to `log`.
    pub async fn start(args: &[&str], log: &Path) -> StoreProcess {
        Self::example("store", args, log).await
    }

    /// The same for any example that prints `listening on http://ADDR` first.
    pub async fn example(name: &str, args: &[&str], log: &Path) -> StoreProcess {
        Self::example_with_env(name, args, &[], log).await
    }

    /// [`example`](Self::example) with `env` set (after `DATABASE_URL` and `ADDR` are removed).
    pub async fn example_with_env(
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
        log: &Path,
    ) -> StoreProcess {
        let log_file = std::fs::File::create(log).expect("create the example's log");
        let mut child = Command::new(example_binary(name))
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("ADDR")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("start the {name} example: {error}"));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = timeout(Duration::from_secs(30), stdout.read_line(&mut line)).await;
        let addr: Option<SocketAddr> = line
            .trim()
            .strip_prefix("listening on http://")
            .or_else(|| line.trim().strip_prefix("listening on https://"))
            .and_then(|addr| addr.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill().await;
            panic!(
                "{name} {args:?} did not report its address ({read:?}, stdout {line:?}); its log:\n{}",
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
