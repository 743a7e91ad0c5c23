//! One request must never take the server down (issue 18): a single `If-Match` line of about
//! 300 KB, `"v7-identity-identity-…"`, sent raw over TCP to `axum::serve` with
//! `encoding_aware_etags(true)`. Decoding its `-identity` suffixes used to recurse once per
//! suffix and overflow the 2 MiB stack of a tokio worker: "fatal runtime error: stack
//! overflow", SIGABRT, every connection of the process lost.
//!
//! A stack overflow aborts the whole process, so the server runs in a child process: this test
//! binary started again on the `#[ignore]`d test [`serve_one_suffix_chain`]. The parent sees an
//! abort as a failed child, with its stderr in the failure message, instead of the test binary
//! dying silently.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::request::Parts;
use axum::routing::get;
use axum::serve::ListenerExt;
use tower_conditional::{ConditionalLayer, ETag, Lookup, Validators};

/// The child's test: its name as the harness knows it.
const CHILD: &str = "serve_one_suffix_chain";

/// `-identity` suffixes in the request's tag: 33,000 of 9 bytes, about 300 KB (hyper's HTTP/1
/// head limit is about 408 KiB).
const SUFFIXES: usize = 33_000;

#[test]
fn a_300_kb_suffix_chain_over_tcp_is_answered_and_the_server_lives() {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([
            CHILD,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the test binary again");
    // Bounded in time: the child's own socket timeouts end it within a minute.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the child did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .ok();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .ok();
    assert!(
        status.success() && stdout.contains("suffix chain answered"),
        "the server process died or failed ({status}):\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

/// Run only by the test above, in a child process.
#[test]
#[ignore = "run in a child process by a_300_kb_suffix_chain_over_tcp_is_answered_and_the_server_lives"]
fn serve_one_suffix_chain() {
    // A multi-threaded runtime with tokio's default worker stack (2 MiB), as `#[tokio::main]`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind to loopback");
    let addr = listener.local_addr().expect("its address");
    let source = |_: &Parts| async {
        let current = Validators::new().with_etag(ETag::from_static("\"v7\""));
        Ok::<_, Infallible>(Lookup::Present(current))
    };
    let app = Router::new()
        .route("/", get(|| async { "hello" }).put(|| async { "written" }))
        .layer(ConditionalLayer::new(source).encoding_aware_etags(true));
    let listener = listener.tap_io(|stream| {
        stream.set_nodelay(true).expect("TCP_NODELAY");
    });
    runtime.spawn(async move { axum::serve(listener, app).await.expect("serve") });

    let chain = format!("\"v7{}\"", "-identity".repeat(SUFFIXES));
    for method in ["PUT", "GET"] {
        let head = format!(
            "{method} / HTTP/1.1\r\nHost: test\r\nIf-Match: {chain}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        // The tag was never issued for "v7": the write and the read are refused.
        assert_eq!(exchange(addr, &head), "HTTP/1.1 412 Precondition Failed");
    }
    // And the server still answers others.
    let fresh =
        "GET / HTTP/1.1\r\nHost: test\r\nIf-None-Match: \"v7\"\r\nConnection: close\r\n\r\n";
    assert_eq!(exchange(addr, fresh), "HTTP/1.1 304 Not Modified");
    println!("suffix chain answered");
}

/// Sends `head` on a new connection; the status line of the answer.
fn exchange(addr: std::net::SocketAddr, head: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    stream.write_all(head.as_bytes()).expect("send the request");
    let mut answer = Vec::new();
    // Connection: close: the server closes after its answer.
    stream.read_to_end(&mut answer).expect("read the answer");
    let answer = String::from_utf8_lossy(&answer);
    answer.lines().next().unwrap_or_default().to_owned()
}
