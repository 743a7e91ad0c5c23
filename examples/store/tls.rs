//! HTTPS for the store (`--tls-cert`, `--tls-key`): rustls, offering HTTP/2 and HTTP/1.1 by ALPN
//! (`h2` first, so browsers speak HTTP/2), with an accept loop of its own since `axum::serve`
//! takes no TLS. Each connection is served by hyper-util's `auto` builder, as `axum::serve`
//! serves a plain one.
//!
//! Try it with a self-signed certificate:
//!
//! ```text
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
//!     -subj /CN=localhost -addext subjectAltName=DNS:localhost \
//!     -keyout key.pem -out cert.pem
//! cargo run --example store -- --tls-cert cert.pem --tls-key key.pem
//! curl -i --cacert cert.pem https://localhost:3000/items/greeting     # HTTP/2 200 (or 404)
//! ```

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How long a client may take over its TLS handshake before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's TLS configuration: the certificate chain in the PEM file `cert`, the private key
/// in the PEM file `key`, and ALPN `h2`, `http/1.1`. The error says which file was wrong.
pub fn config(cert: &str, key: &str) -> Result<Arc<ServerConfig>, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| format!("cannot read the certificate chain {cert:?}: {error}"))?;
    if chain.is_empty() {
        return Err(format!("{cert:?} holds no PEM certificate"));
    }
    let private_key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| format!("cannot read the private key {key:?}: {error}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS setup: {error}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|error| format!("{cert:?} and {key:?} do not make a usable pair: {error}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts TLS connections on `listener` and serves `router` on each, until the process ends.
pub async fn serve(listener: TcpListener, router: Router, config: Arc<ServerConfig>) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let (stream, peer) = crate::tower_serving::accept(&listener).await;
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => return eprintln!("{peer}: TLS handshake failed: {error}"),
                    Err(_) => return eprintln!("{peer}: TLS handshake timed out"),
                };
            // HTTP/2 when the client opens with its preface (it chose `h2` by ALPN), else
            // HTTP/1.1.
            if let Err(error) = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("{peer}: {error}");
            }
        });
    }
}
