//! `hookhost push`: a component to an OCI registry, as a wasm artifact.

use std::path::PathBuf;
use std::process::ExitCode;

use hookhost::config::OciRef;

use super::registry_settings;

/// Push a component to an OCI registry (the CNCF wasm artifact layout:
/// config `application/vnd.wasm.config.v0+json`, one `application/wasm`
/// layer); prints the manifest's digest, to pin with `@sha256:…`.
#[derive(clap::Args)]
pub struct PushArgs {
    /// The component.
    file: PathBuf,
    /// Where: oci://HOST[:PORT]/REPO:TAG.
    reference: String,
    /// A configuration whose `hookhost.registries` gives the registry's
    /// settings (plain HTTP, credentials).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Plain HTTP to this registry (one on loopback).
    #[arg(long)]
    insecure: bool,
}

impl PushArgs {
    pub async fn run(self) -> Result<ExitCode, String> {
        let reference = OciRef::parse(&self.reference)?;
        let wasm = std::fs::read(&self.file)
            .map_err(|e| format!("cannot read {}: {e}", self.file.display()))?;
        let puller = registry_settings(self.config.as_deref(), &reference, self.insecure)?;
        let digest = puller
            .push(&wasm, &reference)
            .await
            .map_err(|e| format!("{}: {e}", self.file.display()))?;
        println!("{digest}");
        Ok(ExitCode::SUCCESS)
    }
}
