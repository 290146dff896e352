//! Component signatures: the WebAssembly signatures proposal's format, as
//! the `wasmsign2` CLI writes it (a custom section at the start of the
//! component, or a detached `FILE.sig` beside it), ed25519 keys.
//!
//! With `hookhost.trust` set, a component's signature is verified when it
//! is loaded, from the bytes that are then compiled: with
//! `require_signatures` every component must carry one that a trusted key
//! (or, with the entry's `signed_by`, one of those keys) verifies; without
//! it, a component that carries a signature must verify, and an unsigned
//! one is taken as it is.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use wasmsign2::{PublicKey, PublicKeySet, WSError};

use crate::config::{ConfigError, TrustSettings};

/// The trusted keys, read from `hookhost.trust`.
#[derive(Debug)]
pub struct Keyring {
    keys: Vec<(PathBuf, PublicKey)>,
    require: bool,
}

impl Keyring {
    /// Read the key files; an unreadable or malformed one is refused,
    /// naming it.
    pub fn load(trust: &TrustSettings) -> Result<Keyring, ConfigError> {
        let keys = trust
            .public_keys
            .iter()
            .enumerate()
            .map(|(i, file)| {
                let field = format!("hookhost.trust.public_keys[{i}]");
                let bytes = crate::files::read_regular(file).map_err(|err| {
                    ConfigError::field(&field, format!("cannot read {}: {err}", file.display()))
                })?;
                let key = PublicKey::from_any(&bytes).map_err(|_| {
                    ConfigError::field(
                        &field,
                        format!(
                            "{} is not an ed25519 public key (wasmsign2's, PEM, DER or OpenSSH)",
                            file.display()
                        ),
                    )
                })?;
                Ok((file.clone(), key))
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Keyring {
            keys,
            require: trust.require_signatures,
        })
    }

    /// Check the signature of `wasm` (read from `path`) with the trusted
    /// keys, or only those of `signed_by` when it names some. Returns the
    /// key files that verify it (empty: unsigned, and allowed to be).
    pub(crate) fn verify(
        &self,
        path: &Path,
        wasm: &[u8],
        signed_by: &[PathBuf],
    ) -> Result<Vec<PathBuf>, String> {
        let keys: Vec<&(PathBuf, PublicKey)> = self
            .keys
            .iter()
            .filter(|(file, _)| signed_by.is_empty() || signed_by.contains(file))
            .collect();
        let set = PublicKeySet::new(keys.iter().map(|(_, key)| key.clone()).collect());
        let sig_file = detached_path(path);
        let detached = match std::fs::read(&sig_file) {
            Ok(bytes) => Some(bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return Err(format!("cannot read {}: {err}", sig_file.display())),
        };
        let names = || {
            keys.iter()
                .map(|(file, _)| file.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match set.verify(&mut Cursor::new(wasm), detached.as_deref()) {
            Ok(found) => Ok(keys
                .iter()
                .filter(|(_, key)| found.contains(&key))
                .map(|(file, _)| file.clone())
                .collect()),
            Err(WSError::NoSignatures) if !self.require => Ok(Vec::new()),
            Err(WSError::NoSignatures) => Err(format!(
                "{} is not signed (hookhost.trust.require_signatures; sign it with `hookhost sign --key KEY {}` or wasmsign2, embedded or as {})",
                path.display(),
                path.display(),
                sig_file.display()
            )),
            Err(WSError::VerificationFailed) => Err(format!(
                "{}'s signature{} does not verify with {} (a changed file, or signed by another key)",
                path.display(),
                if detached.is_some() {
                    format!(" ({})", sig_file.display())
                } else {
                    String::new()
                },
                names()
            )),
            Err(err) => Err(format!(
                "{}'s signature cannot be read: {err}",
                path.display()
            )),
        }
    }
}

/// Where a component's detached signature is looked for: `FILE.sig`.
pub fn detached_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// A signed component: the component (with the signature embedded, or
/// unchanged when it is detached) and the detached signature.
#[derive(Debug)]
pub struct Signed {
    /// The component's bytes to write.
    pub wasm: Vec<u8>,
    /// The signature for `FILE.sig`, when detached.
    pub detached: Option<Vec<u8>>,
}

/// Why a component could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key is not an ed25519 secret key in a format read here.
    #[error("not an ed25519 secret key (wasmsign2's, PEM, DER or OpenSSH)")]
    Key,
    /// The component could not be read or signed.
    #[error("{0}")]
    Component(String),
}

/// Sign a component with an ed25519 secret key (wasmsign2's key file, PEM,
/// DER or OpenSSH), as `wasmsign2 sign` does: a signature already there is
/// kept and this one added.
pub fn sign(wasm: &[u8], secret_key: &[u8], detached: bool) -> Result<Signed, SignError> {
    let key = wasmsign2::SecretKey::from_any(secret_key).map_err(|_| SignError::Key)?;
    let component = |what: String| SignError::Component(what);
    if !wasm.starts_with(b"\0asm") {
        return Err(component(
            "not WebAssembly (a component starts with the bytes \\0asm)".to_owned(),
        ));
    }
    let module = wasmsign2::Module::deserialize(&mut Cursor::new(wasm))
        .map_err(|err| component(format!("not a WebAssembly component: {err}")))?;
    let (module, signature) = key
        .sign_multi(module, None, detached, false)
        .map_err(|err| component(format!("cannot sign: {err}")))?;
    let mut out = Vec::with_capacity(wasm.len() + 256);
    module
        .serialize(&mut out)
        .map_err(|err| component(format!("cannot write the signed component: {err}")))?;
    Ok(Signed {
        wasm: out,
        detached: detached.then_some(signature),
    })
}

/// A new ed25519 key pair in wasmsign2's file format: (secret, public).
pub fn generate_key_pair() -> (Vec<u8>, Vec<u8>) {
    let pair = wasmsign2::KeyPair::generate();
    (pair.sk.to_bytes(), pair.pk.to_bytes())
}

/// The sha256 of `bytes`, lowercase hex: what `"sha256"` pins.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
