//! Serving a router on a TCP port, as the axum examples here do (each includes this file with
//! `#[path]`).

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

/// Serves `app` on `listener` until the server fails. TCP_NODELAY on every accepted socket
/// (axum 0.8's spelling of `tcp_nodelay(true)`), so small responses (a 304, a 412) leave at
/// once instead of waiting on Nagle; with axum's `http2` feature, HTTP/1.1 and h2c on the one
/// port. First prints `listening on http://ADDR`: tests and scripts read that line to learn the
/// port when started with port 0.
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            eprintln!("cannot set TCP_NODELAY: {error}");
        }
    });
    println!("listening on http://{local}");
    axum::serve(listener, app).await
}
