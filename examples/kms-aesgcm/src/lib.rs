//! `kms-aesgcm`: a KMS plugin encrypting secrets with AES-256-GCM.
//!
//! The key (64 hex digits) comes from `KMS_AESGCM_KEY`, which the host passes
//! by SFTPGo's env rules: with an empty `env_prefix`, a plugin named
//! `kms_aesgcm` gets the variables starting with `KMS_AESGCM_` and no others.
//!
//! ```json
//! {"type": "kms", "cmd": "kms_aesgcm.wasm",
//!  "kms_options": {"scheme": "hashivault", "encrypted_status": "VaultTransit"}}
//! ```
//!
//! The payload becomes hex(nonce ‖ ciphertext ‖ tag); the secret's
//! additional data is authenticated, so a ciphertext moved to another user
//! does not decrypt. With a non-empty `master-key`, it is mixed into the
//! additional data too.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hookhost_guest::kms::{Encrypted, Kms, Secret};

fn cipher() -> Result<Aes256Gcm, String> {
    let hex =
        std::env::var("KMS_AESGCM_KEY").map_err(|_| "KMS_AESGCM_KEY is not set".to_owned())?;
    let bad = || "KMS_AESGCM_KEY must be 64 hex digits".to_owned();
    let key = decode_hex(hex.trim()).ok_or_else(bad)?;
    let key = Key::<Aes256Gcm>::try_from(key.as_slice()).map_err(|_| bad())?;
    Ok(Aes256Gcm::new(&key))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn aad(secret: &Secret, master_key: &str) -> Vec<u8> {
    format!("{}\0{}", secret.additional_data, master_key).into_bytes()
}

struct AesGcm;

impl Kms for AesGcm {
    fn encrypt(secret: Secret, _url: String, master_key: String) -> Result<Encrypted, String> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| e.to_string())?;
        let sealed = cipher()?
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.payload.as_bytes(),
                    aad: &aad(&secret, &master_key),
                },
            )
            .map_err(|_| "encryption failed".to_owned())?;
        Ok(Encrypted {
            payload: encode_hex(&[nonce.as_slice(), &sealed].concat()),
            key: String::new(),
            mode: 0,
        })
    }

    fn decrypt(secret: Secret, _url: String, master_key: String) -> Result<String, String> {
        let bytes = decode_hex(&secret.payload)
            .filter(|b| b.len() > 12)
            .ok_or("malformed payload")?;
        let (nonce, sealed) = bytes.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| "malformed payload".to_owned())?;
        let plain = cipher()?
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: &aad(&secret, &master_key),
                },
            )
            .map_err(|_| {
                "decryption failed (wrong key, or the secret or its additional data was altered)"
                    .to_owned()
            })?;
        String::from_utf8(plain).map_err(|_| "the decrypted secret is not UTF-8".to_owned())
    }
}

hookhost_guest::export_kms!(AesGcm);
