//! `hookhost replay`: run recorded file-system events (one `fire` event
//! body per line) through a hook component, and through a second one to
//! compare: each disagreement is printed, then a summary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hookhost::event::FsAction;
use hookhost::event::fs::http::decode_fs_event_as;
use hookhost::hook::{World, worlds_of};
use hookhost::{Config, Decision, Host};
use serde_json::{Value, json};

use super::fire::Solo;
use super::fire::solo::grants;

/// Run recorded events (one SFTPGo fs event body per line, as `fire`
/// takes) through a hook component, or two to compare their verdicts.
///
/// Prints one JSON line per disagreement (`--against`) and a summary;
/// exits 0 when the two agree on every event (or without --against), 1
/// when they disagree on one, 2 on bad input.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The recorded events: one JSON body per line (blank lines skipped).
    #[arg(long)]
    events: PathBuf,
    /// The hook component (a file-system hook).
    #[arg(long)]
    hook: PathBuf,
    /// A second component run on the same events, with the same grants:
    /// the candidate whose verdicts are compared with --hook's.
    #[arg(long)]
    against: Option<PathBuf>,
    /// Grant a directory, HOST:GUEST or HOST:GUEST:rw. Repeatable.
    #[arg(long)]
    grant_dir: Vec<String>,
    /// An argument for the components (after argv[0]). Repeatable.
    #[arg(long = "arg", allow_hyphen_values = true)]
    args: Vec<String>,
    /// A variable for the components, NAME=VALUE. Repeatable.
    #[arg(long)]
    env: Vec<String>,
    /// An origin the components may send HTTP requests to. Repeatable.
    #[arg(long)]
    grant_http: Vec<String>,
}

/// How many events got each verdict.
#[derive(Default)]
struct Tally {
    allow: usize,
    deny: usize,
    handled: usize,
    failed: usize,
}

impl Tally {
    fn count(&mut self, decision: &Decision) {
        match decision {
            Decision::Allow | Decision::Queued => self.allow += 1,
            Decision::Deny(_) => self.deny += 1,
            Decision::Handled => self.handled += 1,
            Decision::Failed(_) => self.failed += 1,
        }
    }

    fn json(&self) -> Value {
        json!({"allow": self.allow, "deny": self.deny, "handled": self.handled, "failed": self.failed})
    }
}

/// A verdict as printed: its kind, and a refusal's or failure's reason.
fn verdict(decision: &Decision) -> Value {
    match decision {
        Decision::Allow | Decision::Queued => json!("allow"),
        Decision::Handled => json!("handled"),
        Decision::Deny(reason) => json!({"deny": reason}),
        Decision::Failed(reason) => json!({"failed": reason}),
    }
}

fn same_kind(a: &Decision, b: &Decision) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
        || matches!(
            (a, b),
            (Decision::Allow, Decision::Queued) | (Decision::Queued, Decision::Allow)
        )
}

impl ReplayArgs {
    pub async fn run(self) -> Result<ExitCode, String> {
        let text = std::fs::read_to_string(&self.events)
            .map_err(|e| format!("--events {}: {e}", self.events.display()))?;
        let primary = self.host(&self.hook, "--hook").await?;
        let candidate = match &self.against {
            Some(against) => Some(self.host(against, "--against").await?),
            None => None,
        };
        let (mut tally, mut against_tally, mut events, mut disagreements) =
            (Tally::default(), Tally::default(), 0, 0);
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = || format!("{}:{}", self.events.display(), index + 1);
            let event = decode_fs_event_as(line.as_bytes(), primary.sftpgo_version())
                .map_err(|e| format!("{}: {e}", at()))?;
            events += 1;
            let decision = primary
                .dispatch(event.clone())
                .wait_for_all()
                .await
                .decision;
            tally.count(&decision);
            let Some(candidate) = &candidate else {
                continue;
            };
            let other = candidate.dispatch(event).wait_for_all().await.decision;
            against_tally.count(&other);
            if !same_kind(&decision, &other) {
                disagreements += 1;
                let body: Value = serde_json::from_str(line).unwrap_or(json!(line));
                println!(
                    "{}",
                    json!({"line": index + 1, "hook": verdict(&decision),
                        "against": verdict(&other), "event": body})
                );
            }
        }
        let mut summary = json!({"events": events, "hook": tally.json()});
        if candidate.is_some() {
            summary["against"] = against_tally.json();
            summary["disagreements"] = json!(disagreements);
        }
        println!("{summary}");
        primary.shutdown().await;
        if let Some(candidate) = candidate {
            candidate.shutdown().await;
        }
        Ok(if disagreements == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }

    /// A host running `component` on every file-system action.
    async fn host(&self, component: &Path, flag: &str) -> Result<Host, String> {
        let bytes =
            std::fs::read(component).map_err(|e| format!("{flag} {}: {e}", component.display()))?;
        let worlds =
            worlds_of(&bytes).map_err(|e| format!("{flag} {}: {e}", component.display()))?;
        if !worlds.contains(&World::Fs) {
            return Err(format!(
                "{flag} {}: replay runs file-system hooks (the fs-hook world); this component exports {}",
                component.display(),
                worlds
                    .iter()
                    .map(|w| w.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let solo = Solo {
            hook: std::path::absolute(component).map_err(|e| format!("{flag}: {e}"))?,
            world: World::Fs,
            grant_dirs: self.grant_dir.clone(),
            grant_http: self.grant_http.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
        };
        let name = component
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "hook".into());
        let actions: Vec<&str> = FsAction::ALL.iter().map(|a| a.as_str()).collect();
        let entry = json!({"name": name, "hook": solo.hook, "grants": grants(&solo)?,
            "execute_on": actions});
        // Every action synchronous: the verdict is the hook's own answer.
        let sync: Vec<&str> = FsAction::ALL
            .iter()
            .map(|a| a.as_str())
            .filter(|a| !a.starts_with("pre-"))
            .collect();
        let config = Config::from_value(
            json!({"common": {"actions": {"execute_sync": sync, "hooks": [entry]}}}),
            Path::new("."),
        )
        .map_err(|e| format!("{flag}: {e}"))?;
        Host::new(config).await.map_err(|e| format!("{flag}: {e}"))
    }
}
