//! Whom a client trusts when it talks to a broker (or a webhook) over TLS.
//!
//! One rule for every `https://` and `wss://` connection this project opens:
//! the system's root certificates (read by `rustls-platform-verifier`, which on
//! Linux loads the distribution's CA bundle) **plus** the certificates in the
//! PEM file named by `CLAUDE_PEERS_CA_FILE`, for a team's own CA or a broker's
//! self-signed certificate. The crypto provider is `ring`.
//!
//! The configuration is built once per process, and only when a TLS
//! connection is actually needed: plain `http://` clients (the default, local
//! broker) never read the system's CA bundle.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The variable naming an extra CA file (PEM) to trust.
pub const CA_FILE_VAR: &str = "CLAUDE_PEERS_CA_FILE";

/// Why no TLS configuration could be built.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub String);

/// The `ring` crypto provider, shared by the broker's server side too. It is
/// also installed as the process default, so a library that builds its own
/// TLS configuration finds it.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            let p = Arc::new(rustls::crypto::ring::default_provider());
            // Err means another provider was installed first: keep that one.
            let _ = rustls::crypto::CryptoProvider::install_default(p.as_ref().clone());
            p
        })
        .clone()
}

/// The client configuration for `https://`/`wss://`: system roots plus
/// `CLAUDE_PEERS_CA_FILE`. Built on first use, then shared.
pub fn client_config() -> Result<Arc<ClientConfig>, TlsError> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, TlsError>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let extra = match std::env::var_os(CA_FILE_VAR).filter(|v| !v.is_empty()) {
                Some(path) => read_certificates(Path::new(&path))?,
                None => Vec::new(),
            };
            build(extra).map(Arc::new)
        })
        .clone()
}

/// A configuration for clients that never speak TLS (their URLs are
/// `http://`): it trusts nothing, so it costs nothing to build.
pub fn plain_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let config = ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .map(|b| {
                    b.with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                })
                .unwrap_or_else(|e| {
                    // The ring provider supports the default versions; this
                    // cannot fail, but a panic here would take a hook down.
                    tracing::error!(error = %e, "cannot build a TLS configuration");
                    ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                });
            Arc::new(config)
        })
        .clone()
}

/// System roots plus `extra`.
fn build(extra: Vec<CertificateDer<'static>>) -> Result<ClientConfig, TlsError> {
    let provider = provider();
    let had_extra = !extra.is_empty();
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone()).map_err(
            |e| {
                TlsError(if had_extra {
                    format!("cannot set up TLS with the certificates of {CA_FILE_VAR}: {e}")
                } else {
                    format!(
                        "cannot set up TLS: {e}; install the system's CA certificates or set {CA_FILE_VAR} to a PEM file"
                    )
                })
            },
        )?;
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// Every certificate in a PEM file; an error names the file and says what is
/// wrong with it (missing, unreadable, no certificate in it).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|e| {
        TlsError(format!(
            "cannot read the certificate file {}: {e}",
            path.display()
        ))
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            TlsError(format!(
                "{} is not a PEM certificate file: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(TlsError(format!(
            "{} holds no certificate (expected PEM blocks \"-----BEGIN CERTIFICATE-----\")",
            path.display()
        )));
    }
    Ok(certs)
}

/// A `reqwest` client builder that uses the trust rule above for `https`
/// URLs. `tls` says whether the client will talk TLS at all.
pub fn reqwest_builder(tls: bool) -> Result<reqwest::ClientBuilder, TlsError> {
    if !tls {
        return Ok(plain_reqwest_builder());
    }
    let config = client_config()?;
    Ok(reqwest::Client::builder().tls_backend_preconfigured(Arc::unwrap_or_clone(config)))
}

/// A `reqwest` client builder for `http://` URLs only (any `https://` URL
/// fails: it trusts no certificate).
pub fn plain_reqwest_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(Arc::unwrap_or_clone(plain_config()))
}

/// Words for people when a TLS connection failed because the peer's
/// certificate is not trusted (or does not match the name), else `None`.
pub fn explain(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cur {
        // An io::Error's `source()` skips the error it wraps: look inside.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| explain(i))
        {
            return Some(inner);
        }
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(match r {
                rustls::Error::InvalidCertificate(c) => certificate_words(c),
                other => format!("TLS failed: {other}"),
            });
        }
        cur = e.source();
    }
    None
}

/// What to tell a person about a refused server certificate, with the fix.
fn certificate_words(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match c {
        E::NotValidForName | E::NotValidForNameContext { .. } => format!(
            "the server's TLS certificate is not for this address ({c:?}); use a host name or IP address the certificate lists in the broker URL"
        ),
        E::Expired | E::ExpiredContext { .. } => {
            format!("the server's TLS certificate has expired ({c:?}); renew it on the broker")
        }
        // rustls reports it as webpki's error inside `Other`.
        _ if format!("{c:?}").contains("CaUsedAsEndEntity") => format!(
            "the server's TLS certificate is a CA certificate used as the server's own (what `openssl req -x509` makes by default), which TLS clients refuse; make a CA, sign a broker certificate with it (docs/TEAM.md, \"TLS\"), and set {CA_FILE_VAR} to the CA's PEM file"
        ),
        _ => format!(
            "the server's TLS certificate is not trusted ({c:?}); set {CA_FILE_VAR} to the PEM file of the CA that signed it"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_named_in_the_error() {
        let dir = tempfile_dir();
        let missing = dir.join("nope.pem");
        let e = read_certificates(&missing).unwrap_err();
        assert!(
            e.0.contains("nope.pem") && e.0.contains("cannot read"),
            "{e}"
        );
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "hello\n").unwrap();
        let e = read_certificates(&empty).unwrap_err();
        assert!(e.0.contains("holds no certificate"), "{e}");
        let broken = dir.join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = read_certificates(&broken).unwrap_err();
        assert!(e.0.contains("not a PEM certificate file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_plain_configuration_builds_without_system_certificates() {
        let c = plain_config();
        assert!(c.alpn_protocols.is_empty());
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("cp-tls-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
