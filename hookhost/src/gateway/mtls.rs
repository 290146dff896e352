//! go-plugin's AutoMTLS, server side.
//!
//! The client generates an ephemeral ECDSA P-521 key and a self-signed
//! certificate, passes the certificate in `PLUGIN_CLIENT_CERT`, and trusts
//! the server certificate the handshake line carries (for the name
//! `localhost`). The server answers with an ephemeral certificate of its
//! own and requires the client to present the certificate it was given:
//! any other client, or one without a certificate, fails the handshake.
//!
//! ring, rustls's provider here, cannot verify P-521 signatures, so the
//! client's `CertificateVerify` (ecdsa_secp521r1_sha512) is checked with the
//! RustCrypto `p521` crate; every other scheme goes through ring.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, PrivateKeyDer, PrivatePkcs8KeyDer,
    SignatureVerificationAlgorithm, UnixTime, alg_id,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio_rustls::TlsAcceptor;

/// The server side of AutoMTLS: the acceptor, and the server certificate
/// for the handshake line.
pub(crate) struct AutoMtls {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) server_cert: CertificateDer<'static>,
}

impl AutoMtls {
    /// Set up TLS for a client that sent `client_cert_pem`.
    pub(crate) fn new(client_cert_pem: &str) -> Result<AutoMtls, String> {
        let pinned: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(client_cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("PLUGIN_CLIENT_CERT is not a PEM certificate: {e}"))?;
        if pinned.is_empty() {
            return Err("PLUGIN_CLIENT_CERT holds no certificate".into());
        }
        let (server_cert, key) = server_certificate()?;
        let provider = Arc::new(crate::crypto::ring_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?
            .with_client_cert_verifier(Arc::new(PinnedClient { pinned }))
            .with_single_cert(vec![server_cert.clone()], key)
            .map_err(|e| format!("the server certificate: {e}"))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(AutoMtls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            server_cert,
        })
    }
}

/// An ephemeral certificate shaped like go-plugin's own: self-signed, CA,
/// `localhost` as name and SAN, for server and client authentication. The
/// key is P-256 (go-plugin uses P-521; its client accepts either).
fn server_certificate() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let fail = |e: rcgen::Error| format!("cannot make the server certificate: {e}");
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(fail)?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).map_err(fail)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "hookhost");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::seconds(30);
    params.not_after = now + time::Duration::hours(262_980);
    let cert = params.self_signed(&key).map_err(fail)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((cert.der().clone(), key))
}

/// Accepts exactly the certificates the client announced, and checks the
/// client proves it holds the key.
#[derive(Debug)]
struct PinnedClient {
    pinned: Vec<CertificateDer<'static>>,
}

impl ClientCertVerifier for PinnedClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms().supported_schemes()
    }
}

/// ring's signature algorithms plus ECDSA P-521 with SHA-512.
fn algorithms() -> &'static WebPkiSupportedAlgorithms {
    static ALGORITHMS: OnceLock<WebPkiSupportedAlgorithms> = OnceLock::new();
    ALGORITHMS.get_or_init(|| {
        let ring = crate::crypto::ring_provider().signature_verification_algorithms;
        let mut all = ring.all.to_vec();
        all.push(&EcdsaP521Sha512);
        let mut mapping = ring.mapping.to_vec();
        mapping.push((SignatureScheme::ECDSA_NISTP521_SHA512, &[&EcdsaP521Sha512]));
        WebPkiSupportedAlgorithms {
            all: Vec::leak(all),
            mapping: Vec::leak(mapping),
        }
    })
}

/// ECDSA on P-521 with SHA-512, the signature go-plugin's client key makes.
#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p521::ecdsa::signature::Verifier;
        let key =
            p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature =
            p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn p521_signatures_verify_and_tampering_does_not() {
        use p521::ecdsa::signature::Signer;
        let mut scalar = [7u8; 66];
        scalar[0] = 0; // below the group order
        let signing = p521::ecdsa::SigningKey::from_slice(&scalar).unwrap();
        let public = p521::ecdsa::VerifyingKey::from(&signing).to_encoded_point(false);
        let signature: p521::ecdsa::Signature = signing.sign(b"TLS 1.3, client CertificateVerify");
        let der = signature.to_der();
        let alg = EcdsaP521Sha512;
        let message = b"TLS 1.3, client CertificateVerify";
        assert!(
            alg.verify_signature(public.as_bytes(), message, der.as_bytes())
                .is_ok()
        );
        let tampered = b"TLS 1.3, client CertificateVerifx";
        assert!(
            alg.verify_signature(public.as_bytes(), tampered, der.as_bytes())
                .is_err()
        );
        assert!(
            algorithms()
                .supported_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
    }

    fn client_identity() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.pem(), cert.der().clone(), der)
    }

    /// Trusts one server certificate, as go-plugin's client does (webpki
    /// would refuse it: a CA certificate used as the server's own).
    #[derive(Debug)]
    struct PinnedServer(CertificateDer<'static>);

    impl rustls::client::danger::ServerCertVerifier for PinnedServer {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _name: &rustls::pki_types::ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            if end_entity.as_ref() == self.0.as_ref() {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            } else {
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer,
                ))
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms())
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms())
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            algorithms().supported_schemes()
        }
    }

    /// A TLS client trusting `server_cert` for `localhost`, presenting
    /// `identity` if any; the echo of one byte through the session.
    async fn connect(
        acceptor: TlsAcceptor,
        server_cert: CertificateDer<'static>,
        identity: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
    ) -> Result<u8, String> {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(async move {
            let mut tls = acceptor
                .accept(server_io)
                .await
                .map_err(|e| e.to_string())?;
            let byte = tls.read_u8().await.map_err(|e| e.to_string())?;
            tls.write_u8(byte).await.map_err(|e| e.to_string())?;
            tls.flush().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        });
        let builder =
            rustls::ClientConfig::builder_with_provider(Arc::new(crate::crypto::ring_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedServer(server_cert)));
        let config = match identity {
            Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
            None => builder.with_no_client_auth(),
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let result = async {
            let mut tls = connector
                .connect(name, client_io)
                .await
                .map_err(|e| e.to_string())?;
            tls.write_u8(42).await.map_err(|e| e.to_string())?;
            tls.flush().await.map_err(|e| e.to_string())?;
            tls.read_u8().await.map_err(|e| e.to_string())
        }
        .await;
        let served = server.await.unwrap();
        match (result, served) {
            (Ok(byte), Ok(())) => Ok(byte),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    #[tokio::test]
    async fn only_the_announced_client_certificate_gets_in() {
        let (pem, cert, key) = client_identity();
        let mtls = AutoMtls::new(&pem).unwrap();
        assert_eq!(
            connect(
                mtls.acceptor.clone(),
                mtls.server_cert.clone(),
                Some((cert, key))
            )
            .await,
            Ok(42)
        );
        let no_cert = connect(mtls.acceptor.clone(), mtls.server_cert.clone(), None).await;
        assert!(no_cert.is_err(), "{no_cert:?}");
        let (_, other_cert, other_key) = client_identity();
        let other = connect(
            mtls.acceptor,
            mtls.server_cert,
            Some((other_cert, other_key)),
        )
        .await;
        assert!(other.is_err(), "{other:?}");
    }

    #[test]
    fn a_malformed_client_certificate_is_refused_at_start() {
        let err = AutoMtls::new("not pem").err().unwrap();
        assert!(err.contains("PLUGIN_CLIENT_CERT"), "{err}");
    }
}
