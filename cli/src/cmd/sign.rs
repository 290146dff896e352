//! `hookhost sign`: sign a component for `hookhost.trust`, in the format
//! the `wasmsign2` CLI writes and verifies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hookhost::signature;

/// Sign a component (ed25519, the WebAssembly signatures proposal's format,
/// as `wasmsign2 sign` writes it), or make a key pair to sign with.
#[derive(clap::Args)]
pub struct SignArgs {
    /// The secret key (wasmsign2's key file, PEM, DER or an OpenSSH
    /// ed25519 key).
    #[arg(long)]
    key: PathBuf,
    /// Make a new key pair first: the secret key to --key, the public key
    /// (for `hookhost.trust.public_keys`) beside it with the extension
    /// .pub (hooks.key: hooks.pub). Refused when --key exists.
    #[arg(long)]
    new_key: bool,
    /// Write the signature to FILE.sig and leave the component as it is
    /// (its sha256 unchanged); otherwise the signature is embedded.
    #[arg(long)]
    detached: bool,
    /// Where the signed component goes (default: FILE itself).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// The component to sign.
    #[arg(required_unless_present = "new_key")]
    file: Option<PathBuf>,
}

impl SignArgs {
    pub async fn run(self) -> Result<ExitCode, String> {
        if self.new_key {
            new_key(&self.key)?;
        }
        let Some(file) = &self.file else {
            return Ok(ExitCode::SUCCESS);
        };
        let secret = std::fs::read(&self.key)
            .map_err(|err| format!("cannot read {}: {err}", self.key.display()))?;
        let wasm =
            std::fs::read(file).map_err(|err| format!("cannot read {}: {err}", file.display()))?;
        let signed = signature::sign(&wasm, &secret, self.detached).map_err(|err| match err {
            signature::SignError::Key => format!("{}: {err}", self.key.display()),
            signature::SignError::Component(_) => format!("{}: {err}", file.display()),
        })?;
        let out = self.out.as_deref().unwrap_or(file);
        if let Some(sig) = &signed.detached {
            let sig_file = signature::detached_path(out);
            write(&sig_file, sig)?;
            if out != file {
                write(out, &signed.wasm)?;
            }
            println!(
                "{}: signed, signature in {}",
                out.display(),
                sig_file.display()
            );
        } else {
            write(out, &signed.wasm)?;
            println!("{}: signed (embedded)", out.display());
        }
        println!("sha256 {}", signature::sha256_hex(&signed.wasm));
        Ok(ExitCode::SUCCESS)
    }
}

fn new_key(key: &Path) -> Result<(), String> {
    if key.exists() {
        return Err(format!(
            "{} exists: --new-key does not replace a key",
            key.display()
        ));
    }
    let (secret, public) = signature::generate_key_pair();
    let public_file = key.with_extension("pub");
    if public_file == key {
        return Err(format!(
            "{}: the public key goes to KEY with the extension .pub; name the secret key otherwise",
            key.display()
        ));
    }
    write(key, &secret)?;
    write(&public_file, &public)?;
    println!(
        "secret key {}, public key {} (list it in hookhost.trust.public_keys)",
        key.display(),
        public_file.display()
    );
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|err| format!("cannot write {}: {err}", path.display()))
}
