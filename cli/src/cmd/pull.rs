//! `hookhost pull`: a component from an OCI registry into the cache.

use std::path::PathBuf;
use std::process::ExitCode;

use hookhost::config::OciRef;

use super::registry_settings;

/// Pull a component from an OCI registry into the cache (as `serve` does
/// at start); prints the manifest's digest and the cached file.
#[derive(clap::Args)]
pub struct PullArgs {
    /// oci://HOST[:PORT]/REPO:TAG or oci://HOST[:PORT]/REPO@sha256:DIGEST.
    reference: String,
    /// A configuration whose `hookhost.registries` gives the registry's
    /// settings, and whose cache directory is used.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Plain HTTP to this registry (one on loopback).
    #[arg(long)]
    insecure: bool,
}

impl PullArgs {
    pub async fn run(self) -> Result<ExitCode, String> {
        let reference = OciRef::parse(&self.reference)?;
        let puller = registry_settings(self.config.as_deref(), &reference, self.insecure)?;
        let resolved = puller.pull(&reference).await?;
        println!("{}", resolved.manifest);
        eprintln!("{}", resolved.path.display());
        Ok(ExitCode::SUCCESS)
    }
}
