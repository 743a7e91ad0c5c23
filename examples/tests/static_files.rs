//! Three replicas of the built `static_files` example, each serving its own copy of one
//! directory whose files all have the same mtime (1970-01-01T00:00:01Z, as under Nix): the
//! tags are identical across replicas, unchanged files get 304 everywhere, a change that keeps
//! size and mtime is served (200, new bytes) at the next revalidation without a restart, a
//! resume after the change gets the whole new file, and no coding's tag validates another's.

mod process;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use http::StatusCode;
use http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, IF_NONE_MATCH, IF_RANGE, RANGE,
};
use process::{StoreProcess, example_binary};
use support::Server;

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let unique = format!(
            "static-files-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let dir = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file's mtime: one second after the epoch, as Nix sets it.
fn nix_mtime() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(1)
}

/// Writes `content` in place and gives the file the common mtime back.
fn write_keeping_mtime(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(nix_mtime()).unwrap();
}

fn big(version: u8) -> Vec<u8> {
    (0..300_000u32).map(|i| (i % 251) as u8 ^ version).collect()
}

/// The site, version 1 or 2 of each file (the same sizes).
fn write_site(dir: &Path, version: u8) {
    let v = version;
    write_keeping_mtime(
        &dir.join("index.html"),
        format!("<h1>home v{v}</h1>").as_bytes(),
    );
    write_keeping_mtime(&dir.join("app.js"), format!("console.log({v})").as_bytes());
    write_keeping_mtime(
        &dir.join("app.js.gz"),
        format!("gzip bytes of v{v}").as_bytes(),
    );
    write_keeping_mtime(
        &dir.join("app.js.br"),
        format!("br bytes of v{v}").as_bytes(),
    );
    write_keeping_mtime(&dir.join("assets/logo.0a1b2c3d.svg"), b"<svg/>");
    write_keeping_mtime(&dir.join("downloads/big.bin"), &big(v));
}

async fn replicas(dirs: &[PathBuf], logs: &Scratch) -> Vec<StoreProcess> {
    let mut started = Vec::new();
    for (n, dir) in dirs.iter().enumerate() {
        let dir = dir.to_str().unwrap();
        let log = logs.0.join(format!("replica-{n}.log"));
        let mut args = vec!["--dir", dir, "--addr", "127.0.0.1:0"];
        // Both of tokio's schedulers: the current-thread one (`--threads 1`) and the
        // work-stealing one, with its default and with a given number of workers.
        args.extend([&["--threads", "1"][..], &[], &["--threads", "3"]][n % 3]);
        started.push(StoreProcess::example("static_files", &args, &log).await);
    }
    started
}

/// The path and `Accept-Encoding` of each representation checked.
const REPRESENTATIONS: [(&str, &str); 5] = [
    ("/", "identity"),
    ("/app.js", "identity"),
    ("/app.js", "gzip"),
    ("/app.js", "br"),
    ("/downloads/big.bin", "identity"),
];

/// The tag of each representation, the same on every replica.
async fn tags(servers: &[Server]) -> Vec<String> {
    let mut tags = Vec::new();
    for (path, coding) in REPRESENTATIONS {
        let mut seen = Vec::new();
        for server in servers {
            let reply = server.get(path, &[(ACCEPT_ENCODING, coding)]).await;
            assert_eq!(reply.status, StatusCode::OK, "{path} {coding}");
            seen.push(reply.etag());
        }
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "{path} {coding}: {seen:?}"
        );
        tags.push(seen.remove(0));
    }
    tags
}

#[tokio::test]
async fn three_replicas_agree_on_tags_and_see_a_change_that_keeps_size_and_mtime() {
    let scratch = Scratch::new("replicas");
    let logs = Scratch::new("logs");
    let dirs: Vec<PathBuf> = (0..3)
        .map(|n| scratch.0.join(format!("copy-{n}")))
        .collect();
    for dir in &dirs {
        write_site(dir, 1);
    }
    let processes = replicas(&dirs, &logs).await;
    let servers: Vec<Server> = processes.iter().map(|p| p.server.clone()).collect();

    let old = tags(&servers).await;
    let distinct: std::collections::HashSet<_> = old.iter().collect();
    assert_eq!(
        distinct.len(),
        old.len(),
        "every representation has its own tag: {old:?}"
    );
    for server in &servers {
        for ((path, coding), tag) in REPRESENTATIONS.iter().zip(&old) {
            let reply = server
                .get(path, &[(IF_NONE_MATCH, tag), (ACCEPT_ENCODING, coding)])
                .await;
            assert_eq!(reply.status, StatusCode::NOT_MODIFIED, "{path} {coding}");
            assert_eq!(&reply.etag(), tag);
        }
        // Over HTTP/2 (h2c) too.
        let reply = server.http2().get("/", &[(IF_NONE_MATCH, &old[0])]).await;
        assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
        // Identity, gzip and br never validate one another.
        for (held, tag) in [("identity", &old[1]), ("gzip", &old[2]), ("br", &old[3])] {
            for asked in ["identity", "gzip", "br"] {
                let reply = server
                    .get("/app.js", &[(IF_NONE_MATCH, tag), (ACCEPT_ENCODING, asked)])
                    .await;
                let expected = if held == asked {
                    StatusCode::NOT_MODIFIED
                } else {
                    StatusCode::OK
                };
                assert_eq!(reply.status, expected, "{held} tag, {asked} asked");
            }
        }
        let gzip = server.get("/app.js", &[(ACCEPT_ENCODING, "gzip")]).await;
        assert_eq!(gzip.header(CONTENT_ENCODING), "gzip");
        let logo = server.get("/assets/logo.0a1b2c3d.svg", &[]).await;
        assert_eq!(
            logo.header(CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(server.get("/", &[]).await.header(CACHE_CONTROL), "no-cache");
        // A resume of the unchanged download: the range.
        let resumed = server
            .get(
                "/downloads/big.bin",
                &[(RANGE, "bytes=100000-"), (IF_RANGE, &old[4])],
            )
            .await;
        assert_eq!(resumed.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(&resumed.body[..], &big(1)[100_000..]);
    }

    // The deploy: new bytes, the same sizes, the same mtime, no restart.
    for dir in &dirs {
        write_site(dir, 2);
    }
    for server in &servers {
        for ((path, coding), tag) in REPRESENTATIONS.iter().zip(&old) {
            let reply = server
                .get(path, &[(IF_NONE_MATCH, tag), (ACCEPT_ENCODING, coding)])
                .await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{path} {coding} after the change"
            );
            assert_ne!(&reply.etag(), tag, "{path} {coding}");
        }
        assert_eq!(server.get("/", &[]).await.text(), "<h1>home v2</h1>");
        // A resume naming the old version: the whole new file, never a splice.
        let resumed = server
            .get(
                "/downloads/big.bin",
                &[(RANGE, "bytes=100000-"), (IF_RANGE, &old[4])],
            )
            .await;
        assert_eq!(resumed.status, StatusCode::OK);
        assert_eq!(resumed.body, big(2));
    }
    let new = tags(&servers).await;
    for (old, new) in old.iter().zip(&new) {
        assert_ne!(old, new);
    }
}

#[test]
fn help_and_bad_arguments() {
    let run = |args: &[&str]| {
        std::process::Command::new(example_binary("static_files"))
            .args(args)
            .output()
            .expect("run static_files")
    };
    let help = run(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("usage: static_files --dir DIR"));
    let missing = run(&[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--dir is required"));
    // A number tokio cannot spawn threads for exits 2 too, before any thread is started.
    for threads in ["0", "-1", "two", "1025", "100000", "18446744073709551615"] {
        let bad = run(&["--dir", ".", "--threads", threads]);
        assert_eq!(bad.status.code(), Some(2), "--threads {threads}");
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert!(
            stderr.contains("--threads needs a positive number"),
            "{stderr}"
        );
    }
    let no_dir = run(&[
        "--dir",
        "/nonexistent/static-files-test",
        "--addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(no_dir.status.code(), Some(1));
}
