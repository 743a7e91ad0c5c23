//! Serving a tower service on a TCP port with hyper-util, without a framework (the hyper and
//! static_files examples include this file with `#[path]`; the store's TLS loop uses its
//! `accept`).

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tower::Service;

type BoxError = Box<dyn Error + Send + Sync>;

/// Serves `service` on `listener` until the process ends: HTTP/1.1, or HTTP/2 without TLS
/// (h2c, prior knowledge) when a connection opens with its preface, on the one port.
/// TCP_NODELAY on every accepted socket, so small responses (a 304, a 412) leave at once
/// instead of waiting on Nagle. First prints `listening on http://ADDR`: tests and scripts
/// read that line to learn the port when started with port 0.
#[allow(dead_code, reason = "the store includes this file for `accept` alone")]
pub async fn serve<S, B>(listener: TcpListener, service: S) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = accept(&listener).await;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let served = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
            // A client that closes in the middle of a request (partial head or body: a load
            // generator stopping, a cancelled upload) is the client's doing, not the server's.
            // (A close between requests is no error to hyper: it never reaches this.)
            if let Err(error) = served
                && !error
                    .downcast_ref::<hyper::Error>()
                    .is_some_and(hyper::Error::is_incomplete_message)
            {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

/// The next connection, with TCP_NODELAY set. An accept that fails (out of file descriptors and
/// the like) is logged and retried after a pause instead of spinning.
pub async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if let Err(error) = stream.set_nodelay(true) {
                    eprintln!("{peer}: cannot set TCP_NODELAY: {error}");
                }
                return (stream, peer);
            }
            Err(error) => {
                eprintln!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
