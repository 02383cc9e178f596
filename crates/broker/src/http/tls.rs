//! HTTPS and WSS for a broker other machines reach (`--tls-cert`,
//! `--tls-key`): the certificate chain and key are read once at start (a
//! missing or unparsable file stops the start with a message that names it),
//! and [`TlsListener`] hands axum connections whose TLS handshake finished.
//!
//! Handshakes run on their own tasks with a deadline, so a client that opens
//! a connection and says nothing never holds up the others; at most
//! [`MAX_HANDSHAKES`] run at once, further connections are closed at once.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::TlsFiles;
use crate::error::Error;

/// Longest a client may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most TLS handshakes in progress at once.
pub const MAX_HANDSHAKES: usize = 256;

/// Read the certificate chain and key into a server configuration.
pub fn load(files: &TlsFiles) -> Result<Arc<ServerConfig>, Error> {
    let certs = claude_peers_client::tls::read_certificates(&files.cert)
        .map_err(|e| Error::Config(format!("--tls-cert: {e}")))?;
    let key = read_key(&files.key)?;
    let mut config = ServerConfig::builder_with_provider(claude_peers_client::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("cannot set up TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            Error::Config(format!(
                "the TLS certificate {} and key {} do not make a usable pair: {e}",
                files.cert.display(),
                files.key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file.
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::Config(format!(
            "--tls-key: cannot read the key file {}: {e}",
            path.display()
        ))
    })?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        Error::Config(format!(
            "--tls-key: {} holds no usable private key (expected a PEM \"PRIVATE KEY\" block): {e}",
            path.display()
        ))
    })
}

/// A listener whose connections have finished their TLS handshake.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(MAX_HANDSHAKES);
        let accepting = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), tx));
        Ok(Self {
            local,
            ready,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Accept TCP connections and run each handshake on its own task.
async fn accept_loop(
    mut tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let (stream, addr) = tokio::select! {
            c = axum::serve::Listener::accept(&mut tcp) => c,
            _ = ready.closed() => return,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%addr, "too many TLS handshakes in progress; closing a connection");
            continue;
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, addr)).await;
                }
                Ok(Err(e)) => tracing::debug!(%addr, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept loop ended (it only does when we are dropped).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Serve `app` on `listener` until `stop` resolves: plain HTTP, or HTTPS
/// and WSS with `tls`. Handlers see the client's address either way.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    app: axum::Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    use axum::serve::ListenerExt;
    let make = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => {
            axum::serve(listener, make)
                .with_graceful_shutdown(stop)
                .await
        }
        Some(config) => {
            // `tap_io` gives the listener axum's client-address extractor.
            let listener = TlsListener::new(listener, config)?.tap_io(|_| {});
            axum::serve(listener, make)
                .with_graceful_shutdown(stop)
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, cert: &str, key: &str) -> TlsFiles {
        std::fs::write(dir.join("cert.pem"), cert).unwrap();
        std::fs::write(dir.join("key.pem"), key).unwrap();
        TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    #[test]
    fn missing_and_unparsable_files_are_configuration_errors_that_name_them() {
        let dir = std::env::temp_dir().join(format!("cp-tls-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = TlsFiles {
            cert: dir.join("absent.pem"),
            key: dir.join("absent-key.pem"),
        };
        let e = load(&missing).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        assert!(e.to_string().contains("absent.pem"), "{e}");

        let e = load(&files(&dir, "not pem", "")).unwrap_err();
        assert!(
            e.to_string().contains("--tls-cert") && e.to_string().contains("holds no certificate"),
            "{e}"
        );

        // A certificate PEM block with garbage inside is refused too.
        let e = load(&files(
            &dir,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ))
        .unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
