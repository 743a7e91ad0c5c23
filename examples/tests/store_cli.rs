//! The store example's command line, run as a real process: help, errors, host names, and the
//! choice of storage.

mod process;
// The HTTP test client shared with the library's own tests.
#[path = "../../tests/support/mod.rs"]
mod support;

use http::StatusCode;
use http::header::IF_NONE_MATCH;

use process::{StoreProcess, run_to_exit};

#[tokio::test]
async fn help_prints_usage_with_every_flag_and_exits_0() {
    for flag in ["--help", "-h"] {
        let exit = run_to_exit(&[flag]).await;
        assert_eq!(exit.code, Some(0), "{exit:?}");
        assert!(exit.stdout.starts_with("usage: store"), "{exit:?}");
        for word in [
            "--addr",
            "--database",
            "DATABASE_URL",
            "sqlite://",
            "postgres://",
            "--validator-cache",
            "--validator-cache-max-age",
            "(default 10)",
            "--validator-cache-listen",
        ] {
            assert!(exit.stdout.contains(word), "usage names {word}: {exit:?}");
        }
        assert!(exit.stderr.is_empty(), "{exit:?}");
    }
}

#[tokio::test]
async fn bad_arguments_print_a_message_and_usage_on_stderr_and_exit_2() {
    let cases: [(&[&str], &str); 5] = [
        (&["--bogus"], "unknown argument \"--bogus\""),
        (&["--addr"], "--addr needs a value"),
        (&["--addr", "no port"], "invalid address \"no port\""),
        (
            &["--database", "mysql://db"],
            "invalid database URL \"mysql://db\"",
        ),
        (&["--database=sqlite://"], "no file path"),
    ];
    for (args, message) in cases {
        let exit = run_to_exit(args).await;
        assert_eq!(exit.code, Some(2), "{args:?}: {exit:?}");
        assert!(exit.stderr.contains(message), "{args:?}: {exit:?}");
        assert!(exit.stderr.contains("usage: store"), "{args:?}: {exit:?}");
        assert!(exit.stdout.is_empty(), "{args:?}: {exit:?}");
        // Display, not Debug: no error struct names in the message.
        assert!(!exit.stderr.contains("Error {"), "{args:?}: {exit:?}");
    }
}

#[tokio::test]
async fn an_unopenable_database_is_reported_and_exits_1() {
    let exit = run_to_exit(&["--database", "sqlite:///nonexistent-dir/x/items.db"]).await;
    assert_eq!(exit.code, Some(1), "{exit:?}");
    assert!(exit.stderr.contains("cannot open the database"), "{exit:?}");
}

#[tokio::test]
async fn addr_accepts_a_host_name() {
    let dir = std::env::temp_dir().join(format!("store-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = StoreProcess::start(&["--addr", "localhost:0"], &dir.join("store.log")).await;
    let reply = store
        .server
        .put("/items/hello", &[(IF_NONE_MATCH, "*")], "hi")
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn sqlite_database_keeps_items_across_restarts() {
    let dir = std::env::temp_dir().join(format!("store-cli-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("items.db").display());
    let args = ["--addr", "127.0.0.1:0", "--database", url.as_str()];
    let log = dir.join("store.log");

    let first = StoreProcess::start(&args, &log).await;
    let etag = first.server.create("/items/kept", "still here").await;
    drop(first);

    let second = StoreProcess::start(&args, &log).await;
    let reply = second.server.get("/items/kept", &[]).await;
    assert_eq!((reply.text(), reply.etag()), ("still here", etag));
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn bad_validator_cache_flags_print_a_message_and_usage_and_exit_2() {
    let pg = "postgres://127.0.0.1:1/none";
    let cases: &[(&[&str], &str)] = &[
        (
            &["--validator-cache", "--validator-cache-max-age", "0"],
            "invalid --validator-cache-max-age \"0\": seconds, 0 < SECS <= 86400",
        ),
        (
            &["--validator-cache", "--validator-cache-max-age", "-1"],
            "invalid --validator-cache-max-age \"-1\"",
        ),
        (
            &["--validator-cache", "--validator-cache-max-age=86401"],
            "invalid --validator-cache-max-age \"86401\"",
        ),
        (
            &["--validator-cache", "--validator-cache-max-age", "ten"],
            "invalid --validator-cache-max-age \"ten\"",
        ),
        (
            &["--validator-cache", "--validator-cache-max-age", "inf"],
            "invalid --validator-cache-max-age \"inf\"",
        ),
        (
            &["--validator-cache", "--validator-cache-max-age", "NaN"],
            "invalid --validator-cache-max-age \"NaN\"",
        ),
        (
            &["--validator-cache", "--validator-cache-max-age="],
            "invalid --validator-cache-max-age \"\"",
        ),
        (
            &["--validator-cache", "--validator-cache-max-age"],
            "--validator-cache-max-age needs a value",
        ),
        (
            &["--validator-cache=yes"],
            "unknown argument \"--validator-cache=yes\"",
        ),
        (
            &["--validator-cache-max-age", "5"],
            "--validator-cache-max-age needs --validator-cache",
        ),
        (
            &["--database", pg, "--validator-cache-listen", pg],
            "--validator-cache-listen needs --validator-cache",
        ),
        (
            &["--validator-cache", "--validator-cache-listen", pg],
            "--validator-cache-listen needs a PostgreSQL --database",
        ),
        (
            &[
                "--validator-cache",
                "--database",
                "sqlite:///tmp/never-opened.db",
                "--validator-cache-listen",
                pg,
            ],
            "--validator-cache-listen needs a PostgreSQL --database",
        ),
        (
            &[
                "--validator-cache",
                "--database",
                pg,
                "--validator-cache-listen",
                "mysql://db",
            ],
            "invalid --validator-cache-listen URL \"mysql://db\": expected postgres://",
        ),
        (
            &[
                "--validator-cache",
                "--database",
                pg,
                "--validator-cache-listen",
            ],
            "--validator-cache-listen needs a value",
        ),
    ];
    for (args, message) in cases {
        let exit = run_to_exit(args).await;
        assert_eq!(exit.code, Some(2), "{args:?}: {exit:?}");
        assert!(exit.stderr.contains(message), "{args:?}: {exit:?}");
        assert!(exit.stderr.contains("usage: store"), "{args:?}: {exit:?}");
        assert!(exit.stdout.is_empty(), "{args:?}: {exit:?}");
    }
}

#[tokio::test]
async fn the_validator_cache_flags_take_their_default_and_their_values() {
    let dir = std::env::temp_dir().join(format!("store-cli-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("store.log");
    let cases: [(&[&str], Option<&str>); 5] = [
        (&[], None),
        (&["--validator-cache"], Some("max age 10s")),
        (
            &["--validator-cache", "--validator-cache-max-age", "2.5"],
            Some("max age 2.5s"),
        ),
        (
            &["--validator-cache-max-age=0.25", "--validator-cache"],
            Some("max age 250ms"),
        ),
        (
            &["--validator-cache", "--validator-cache-max-age", "86400"],
            Some("max age 86400s"),
        ),
    ];
    for (flags, logged) in cases {
        let mut args = vec!["--addr", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        let store = StoreProcess::start(&args, &log).await;
        let etag = store.server.create("/items/doc", "hello").await;
        let again = store
            .server
            .get("/items/doc", &[(IF_NONE_MATCH, etag.as_str())])
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{flags:?}");
        drop(store);
        let text = std::fs::read_to_string(&log).unwrap();
        match logged {
            Some(line) => assert!(
                text.contains(&format!("validator cache: {line}, at most 32 MiB")),
                "{flags:?}: {text}"
            ),
            None => assert!(!text.contains("validator cache"), "{flags:?}: {text}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two stores on one SQLite file: B never hears of A's writes, so its cache answers 304 for the
/// replaced version until the entry is `--validator-cache-max-age` old, and then asks the file.
#[tokio::test]
async fn on_a_shared_sqlite_file_the_max_age_bounds_how_late_a_304_is() {
    let dir = std::env::temp_dir().join(format!("store-cli-shared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("items.db").display());
    let common = ["--addr", "127.0.0.1:0", "--database", url.as_str()];
    let a = StoreProcess::start(&common, &dir.join("a.log")).await;
    let mut b_args = common.to_vec();
    b_args.extend(["--validator-cache", "--validator-cache-max-age", "2"]);
    let b = StoreProcess::start(&b_args, &dir.join("b.log")).await;

    let etag = a.server.create("/items/doc", "one").await;
    let revalidate = [(IF_NONE_MATCH, etag.as_str())];
    let filled = b.server.get("/items/doc", &revalidate).await;
    let since_filled = std::time::Instant::now();
    assert_eq!(filled.status, StatusCode::NOT_MODIFIED);
    let put = a
        .server
        .put(
            "/items/doc",
            &[(http::header::IF_MATCH, etag.as_str())],
            "two",
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{put:?}");
    let first = b.server.get("/items/doc", &revalidate).await;
    assert_eq!(
        first.status,
        StatusCode::NOT_MODIFIED,
        "B answered from its cache, unaware of A's write"
    );
    // Bounded: well before the default max age (10 s) could end it.
    let fresh = loop {
        let reply = b.server.get("/items/doc", &revalidate).await;
        if reply.status == StatusCode::OK || since_filled.elapsed().as_secs() >= 9 {
            break reply;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        fresh.status,
        StatusCode::OK,
        "a 200 once the entry was 2 s old"
    );
    assert_eq!(fresh.text(), "two");
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_max_age_that_rounds_to_zero_is_refused_like_zero() {
    // `0` is refused ("0 < SECS"); a positive value below a nanosecond becomes the same zero
    // Duration, a cache that never answers, yet the store starts and logs "max age 0ns".
    // (An address that cannot resolve makes an accepted value exit 2 too, with its own message.)
    for secs in ["1e-12", "0.0000000001"] {
        let exit = run_to_exit(&[
            "--addr",
            "no port",
            "--validator-cache",
            "--validator-cache-max-age",
            secs,
        ])
        .await;
        assert_eq!(exit.code, Some(2), "{secs}: {exit:?}");
        assert!(
            exit.stderr
                .contains(&format!("invalid --validator-cache-max-age {secs:?}")),
            "{secs}: {exit:?}"
        );
    }
}

#[tokio::test]
async fn a_value_flag_followed_by_a_flag_says_it_needs_a_value() {
    // `--tls-cert` took `--tls-key` as its path, then the key's path is "unknown argument".
    let exit = run_to_exit(&["--tls-cert", "--tls-key", "key.pem"]).await;
    assert_eq!(exit.code, Some(2), "{exit:?}");
    assert!(exit.stderr.contains("--tls-cert needs a value"), "{exit:?}");
}

#[tokio::test]
async fn bad_tls_files_are_reported_before_the_database_is_created() {
    let path = std::env::temp_dir().join(format!("store-cli-tls-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}", path.display());
    let exit = run_to_exit(&[
        "--database",
        &url,
        "--tls-cert",
        "/nonexistent/cert.pem",
        "--tls-key",
        "/nonexistent/key.pem",
    ])
    .await;
    let created = path.exists();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    assert_eq!(exit.code, Some(1), "{exit:?}");
    assert!(
        exit.stderr.contains("cannot read the certificate chain"),
        "{exit:?}"
    );
    assert!(
        !created,
        "a start refused for its TLS files created {}",
        path.display()
    );
}
