//! TLS fixtures: a throwaway CA and a server certificate it signed (for
//! `localhost` and 127.0.0.1), written as PEM files, and a broker started
//! with them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use super::{Broker, Env, WAIT, broker_log};

/// A CA and one server certificate, as files in a directory.
pub struct TestCa {
    /// The CA certificate (what `CLAUDE_PEERS_CA_FILE` names).
    pub ca: PathBuf,
    /// The server's certificate chain and key (`--tls-cert`, `--tls-key`).
    pub cert: PathBuf,
    pub key: PathBuf,
    ca_der: rustls::pki_types::CertificateDer<'static>,
    cert_der: rustls::pki_types::CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl TestCa {
    /// Generate a CA and a certificate for `localhost`/127.0.0.1 into `dir`.
    pub fn new(dir: &Path) -> TestCa {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "claude-peers test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let t = TestCa {
            ca: dir.join("test-ca.pem"),
            cert: dir.join("broker-cert.pem"),
            key: dir.join("broker-key.pem"),
            ca_der: ca.der().clone(),
            cert_der: leaf.der().clone(),
            key_der: key.serialize_der(),
        };
        std::fs::write(&t.ca, ca.pem()).unwrap();
        std::fs::write(&t.cert, leaf.pem()).unwrap();
        std::fs::write(&t.key, key.serialize_pem()).unwrap();
        t
    }

    /// One self-signed certificate for `localhost`/127.0.0.1 that is also a
    /// CA (what `openssl req -x509` makes by default), as the broker's
    /// certificate and as the CA file (`ca` and `cert` are the same file).
    pub fn self_signed_ca_as_server(dir: &Path) -> TestCa {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let t = TestCa {
            ca: dir.join("self-signed.pem"),
            cert: dir.join("self-signed.pem"),
            key: dir.join("self-signed-key.pem"),
            ca_der: cert.der().clone(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        };
        std::fs::write(&t.cert, cert.pem()).unwrap();
        std::fs::write(&t.key, key.serialize_pem()).unwrap();
        t
    }

    /// A client configuration that trusts only this CA.
    pub fn client_config(&self) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        rustls::ClientConfig::builder_with_provider(claude_peers_client::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
    }

    /// A server configuration with the server certificate (for test receivers).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.key_der.clone().into());
        Arc::new(
            rustls::ServerConfig::builder_with_provider(claude_peers_client::tls::provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![self.cert_der.clone(), self.ca_der.clone()], key)
                .unwrap(),
        )
    }

    /// An HTTP client that trusts only this CA.
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_backend_preconfigured(self.client_config())
            .no_proxy()
            .build()
            .unwrap()
    }
}

/// `claude-peers broker` on `env`'s database (port 0 for the first broker of
/// `env`, see [`Broker::spawn`]), serving HTTPS with `ca`'s certificate;
/// returns once `/health` answers over HTTPS.
pub async fn start_tls_broker(env: &Env, ca: &TestCa, extra: &[&str]) -> Broker {
    let (cert, key) = (
        ca.cert.to_string_lossy().to_string(),
        ca.key.to_string_lossy().to_string(),
    );
    let broker = Broker::spawn(
        env,
        &["--tls-cert", cert.as_str(), "--tls-key", key.as_str()],
        extra,
    )
    .await;
    let http = ca.http();
    let url = format!("https://127.0.0.1:{}/health", env.port());
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(r) = http.get(&url).send().await
            && r.status().is_success()
        {
            return broker;
        }
        assert!(
            Instant::now() < deadline,
            "the TLS broker did not answer: {}",
            broker_log(env)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
