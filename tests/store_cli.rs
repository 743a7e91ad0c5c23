//! The store example's command line, run as a real process: help, errors, host names, and the
//! choice of storage.

mod process;
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
