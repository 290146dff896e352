//! `hookhost new`: a ready project for a hook or plugin.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::scaffold;

/// Write a ready project for a hook or plugin.
#[derive(clap::Args)]
pub struct NewArgs {
    /// What to write: fs-hook, provider-hook, pre-login-hook,
    /// external-auth-hook, check-password-hook,
    /// keyboard-interactive-hook, post-login-hook, post-connect-hook,
    /// post-disconnect-hook, startup-hook, notifier-plugin, kms-plugin,
    /// auth-plugin, eventsearcher-plugin, ipfilter-plugin ("-hook" may
    /// be left out).
    kind: String,
    /// The project's name (its directory, crate and component).
    name: String,
    /// The language, for every kind: rust (the guest SDK), python
    /// (componentize-py), js (componentize-js).
    #[arg(long, value_enum, default_value = "rust")]
    lang: scaffold::Lang,
    /// Where to create the project directory.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// The guest SDK (hookhost's guest-sdk/ directory); default: the one
    /// of the source tree this hookhost was built from.
    #[arg(long)]
    sdk: Option<PathBuf>,
}

impl NewArgs {
    pub async fn run(self) -> Result<ExitCode, String> {
        let project = scaffold::new(&self.kind, &self.name, self.lang, &self.dir, self.sdk)?;
        println!("created {}", project.display());
        println!(
            "next: cd {} and follow README.md (build, check, fire)",
            project.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}
