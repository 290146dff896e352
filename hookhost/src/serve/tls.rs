//! `serve` over TLS: SFTPGo's hooks reach `https://` URLs, verified against
//! the CAs of its `http.ca_certificates`, and can present a client
//! certificate (`http.certificates`) that hookhost then requires.
//!
//! The certificate chain and key are PEM files, read at start and again on
//! SIGHUP (a renewed certificate is taken without a restart; one that does
//! not load is refused with the reason, and the running one stays). With a
//! client CA file, every connection must present a certificate that chains
//! to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The files `serve` takes its TLS identity from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain (PEM), the server's own first.
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CAs (PEM) a client certificate must chain to; unset: no client
    /// certificate is asked for.
    pub client_ca: Option<PathBuf>,
}

/// The TLS configuration in force, reloadable.
pub(super) struct Tls {
    files: TlsFiles,
    current: ArcSwap<rustls::ServerConfig>,
}

fn read_error(what: &str, path: &Path, err: impl std::fmt::Display) -> String {
    format!("{what} {}: {err}", path.display())
}

impl Tls {
    /// Load `files`; the error names the file at fault.
    pub(super) fn load(files: TlsFiles) -> Result<Tls, String> {
        let config = build(&files)?;
        Ok(Tls {
            files,
            current: ArcSwap::from(config),
        })
    }

    /// Read the files again; on error the running configuration stays.
    pub(super) fn reload(&self) -> Result<(), String> {
        self.current.store(build(&self.files)?);
        Ok(())
    }

    /// An acceptor with the configuration in force now.
    pub(super) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.load_full())
    }

    /// Whether clients must prove themselves with a certificate.
    pub(super) fn verifies_clients(&self) -> bool {
        self.files.client_ca.is_some()
    }
}

fn build(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, String> {
    let read = |what: &str, path: &Path| {
        crate::files::read_regular(path).map_err(|e| read_error(what, path, e))
    };
    let pem = read("--tls-cert", &files.cert)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.map(|c| c.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| read_error("--tls-cert", &files.cert, e))?;
    if certs.is_empty() {
        return Err(read_error(
            "--tls-cert",
            &files.cert,
            "no certificate in the file",
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&read("--tls-key", &files.key)?)
        .map_err(|e| read_error("--tls-key", &files.key, e))?;
    let provider = Arc::new(crate::crypto::ring_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let pem = read("--tls-client-ca", path)?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| read_error("--tls-client-ca", path, e))?;
                roots
                    .add(cert)
                    .map_err(|e| read_error("--tls-client-ca", path, e))?;
            }
            if roots.is_empty() {
                return Err(read_error(
                    "--tls-client-ca",
                    path,
                    "no certificate in the file",
                ));
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| read_error("--tls-client-ca", path, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
