//! The one TLS crypto provider hookhost uses: rustls on *ring*.
//!
//! rustls 0.23.48 deprecates `crypto::ring::default_provider` in favour of
//! aws-lc-rs, for its post-quantum key exchange. hookhost keeps *ring*: it
//! builds with no C toolchain beyond `cc` (aws-lc-rs needs cmake and a
//! longer build), and its TLS peers are SFTPGo, go-plugin's client and hook
//! endpoints, none of which offers a post-quantum group today. The
//! deprecation is acknowledged here, once.

/// rustls' *ring* provider (X25519, P-256, P-384; TLS 1.2 and 1.3 suites).
#[allow(deprecated)]
pub(crate) fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
