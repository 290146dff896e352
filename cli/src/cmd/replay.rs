//! `hookhost replay`: run recorded events (the lines `hookhost.record`
//! writes: an fs event's body, or a provider, login or connection request
//! as `{"call", "query", "event"}`) through a hook component, and through a
//! second one to compare: each disagreement is printed, then a summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hookhost::event::{FsAction, ObjectType};
use hookhost::hook::{World, worlds_of};
use hookhost::{Config, Host};
use serde_json::{Value, json};

use super::fire::solo::grants;
use super::fire::{self, Call, Printed, Request, Solo};
use crate::scaffold::{login_config, with};

/// Run recorded events (one per line, as `hookhost.record` writes them)
/// through a hook component, or two to compare their verdicts.
///
/// A line is an fs event's body (what `fire --event` takes), or
/// `{"call": "provider", "query": "action=add&…", "event": {…}}` (`fire`'s
/// --call, --query and --event). Lines for another world than the
/// component's are skipped (counted). Prints one JSON line per
/// disagreement (`--against`) and a summary; exits 0 when the two agree on
/// every event (or without --against), 1 when they disagree on one, 2 on
/// bad input.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The recorded events: one JSON line each (blank lines skipped).
    #[arg(long)]
    events: PathBuf,
    /// The hook component (a file-system, provider, login or connection
    /// hook).
    #[arg(long)]
    hook: PathBuf,
    /// A second component of the same world run on the same events, with
    /// the same grants: the candidate whose verdicts are compared with
    /// --hook's.
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

/// How many events got each verdict (allow, deny, handled and failed
/// always shown; a login's other answers as they come).
struct Tally(BTreeMap<String, usize>);

impl Tally {
    fn new() -> Self {
        Tally(
            ["allow", "deny", "handled", "failed"]
                .into_iter()
                .map(|k| (k.to_owned(), 0))
                .collect(),
        )
    }

    fn count(&mut self, verdict: &Verdict) {
        *self.0.entry(verdict.kind.clone()).or_default() += 1;
    }

    fn json(&self) -> Value {
        json!(self.0)
    }
}

/// A call's verdict: its kind (what the summary counts), what is printed,
/// and what two components must share to agree.
struct Verdict {
    kind: String,
    printed: Value,
    compared: Value,
}

impl Verdict {
    /// The candidate answers no world of the call.
    fn unanswered(call: Call) -> Verdict {
        let kind = "not_answered".to_owned();
        Verdict {
            printed: json!({&kind: format!("the component answers no {} call", call.name())}),
            compared: json!(kind),
            kind,
        }
    }

    /// An fs or provider outcome (`decision`, `reason`) or a login answer
    /// (`answer`, with its user, password status or reason). Two
    /// components agree when the kinds are the same and, for a login, the
    /// user or password status answered; a refusal's words may differ.
    fn of(printed: &Printed) -> Verdict {
        let value = &printed.value;
        let reason = value.get("reason").cloned().unwrap_or(Value::Null);
        if let Some(decision) = value.get("decision").and_then(Value::as_str) {
            let kind = if decision == "queued" {
                "allow"
            } else {
                decision
            };
            let printed = match kind {
                "deny" | "failed" => json!({kind: reason}),
                _ => json!(kind),
            };
            return Verdict {
                kind: kind.to_owned(),
                compared: json!(kind),
                printed,
            };
        }
        let kind = value["answer"].as_str().unwrap_or("unknown").to_owned();
        let (printed, compared) = match kind.as_str() {
            "user" => (
                json!({"user": value["user"]}),
                json!({"user": value["user"]}),
            ),
            "password" => {
                let status = json!({"password": value["status"]});
                (status.clone(), status)
            }
            "deny" | "failed" | "not_configured" => (json!({&kind: reason}), json!(kind)),
            _ => (json!(kind), json!(kind)),
        };
        Verdict {
            kind,
            printed,
            compared,
        }
    }
}

/// A component on a host of its own, in the place of every hook world it
/// exports.
struct Replayed {
    host: Host,
    worlds: Vec<World>,
}

impl ReplayArgs {
    pub async fn run(self) -> Result<ExitCode, String> {
        let text = std::fs::read_to_string(&self.events)
            .map_err(|e| format!("--events {}: {e}", self.events.display()))?;
        let primary = self.component(&self.hook, "--hook").await?;
        let candidate = match &self.against {
            Some(against) => Some(self.component(against, "--against").await?),
            None => None,
        };
        let (mut tally, mut against_tally) = (Tally::new(), Tally::new());
        let (mut events, mut skipped, mut disagreements) = (0, 0, 0);
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |e: String| format!("{}:{}: {e}", self.events.display(), index + 1);
            let (call, request) = Request::recorded(line).map_err(at)?;
            let Some(ours) = primary.call(call, &request).await.map_err(at)? else {
                skipped += 1;
                continue;
            };
            events += 1;
            let ours = Verdict::of(&ours);
            tally.count(&ours);
            let Some(candidate) = &candidate else {
                continue;
            };
            let theirs = match candidate.call(call, &request).await.map_err(at)? {
                Some(printed) => Verdict::of(&printed),
                None => Verdict::unanswered(call),
            };
            against_tally.count(&theirs);
            if ours.compared != theirs.compared {
                disagreements += 1;
                let recorded: Value = serde_json::from_str(line).unwrap_or(json!(line));
                println!(
                    "{}",
                    json!({"line": index + 1, "hook": ours.printed,
                        "against": theirs.printed, "event": recorded})
                );
            }
        }
        let mut summary = json!({"events": events, "hook": tally.json()});
        if skipped > 0 {
            summary["skipped"] = json!(skipped);
        }
        if candidate.is_some() {
            summary["against"] = against_tally.json();
            summary["disagreements"] = json!(disagreements);
        }
        println!("{summary}");
        primary.host.shutdown().await;
        if let Some(candidate) = candidate {
            candidate.host.shutdown().await;
        }
        Ok(if disagreements == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }

    /// A host running `component` on every event of the hook worlds it
    /// exports.
    async fn component(&self, component: &Path, flag: &str) -> Result<Replayed, String> {
        let bytes =
            std::fs::read(component).map_err(|e| format!("{flag} {}: {e}", component.display()))?;
        let exported =
            worlds_of(&bytes).map_err(|e| format!("{flag} {}: {e}", component.display()))?;
        let worlds: Vec<World> = exported
            .iter()
            .copied()
            .filter(|w| matches!(w, World::Fs | World::Provider | World::Login(_)))
            .collect();
        if worlds.is_empty() {
            return Err(format!(
                "{flag} {}: replay runs hooks (file-system, provider, login and connection worlds); this component exports {}",
                component.display(),
                exported
                    .iter()
                    .map(|w| w.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let solo = Solo {
            hook: std::path::absolute(component).map_err(|e| format!("{flag}: {e}"))?,
            world: worlds[0],
            grant_dirs: self.grant_dir.clone(),
            grant_http: self.grant_http.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
        };
        let name = component
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "hook".into());
        let grants = grants(&solo)?;
        let mut config = json!({});
        for world in &worlds {
            // One entry per world, each named apart.
            let name = match worlds.len() {
                1 => name.clone(),
                _ => format!("{name} ({})", world.name()),
            };
            let entry = json!({"name": name, "hook": solo.hook, "grants": grants});
            merge(&mut config, place(*world, entry));
        }
        let config =
            Config::from_value(config, Path::new(".")).map_err(|e| format!("{flag}: {e}"))?;
        let host = Host::new(config)
            .await
            .map_err(|e| format!("{flag}: {e}"))?;
        Ok(Replayed { host, worlds })
    }
}

/// The configuration that runs `entry` on every event of `world` (a hook
/// world).
fn place(world: World, entry: Value) -> Value {
    match world {
        World::Fs => {
            let actions: Vec<&str> = FsAction::ALL.iter().map(|a| a.as_str()).collect();
            // Every action synchronous: the verdict is the hook's own
            // answer.
            let sync: Vec<&str> = actions
                .iter()
                .copied()
                .filter(|a| !a.starts_with("pre-"))
                .collect();
            let entry = with(entry, json!({"execute_on": actions}));
            json!({"common": {"actions": {"execute_sync": sync, "hooks": [entry]}}})
        }
        World::Provider => {
            let objects: Vec<&str> = ObjectType::ALL.iter().map(|o| o.as_str()).collect();
            let entry = with(
                entry,
                json!({"execute_on": ["add", "update", "delete"], "execute_for": objects}),
            );
            json!({"data_provider": {"actions": {"hooks": [entry]}}})
        }
        World::Login(hook) => login_config(hook, entry),
        _ => unreachable!("a hook world"),
    }
}

/// `from`'s keys added into `into`, objects merged key by key.
fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                merge(into.entry(key).or_insert(Value::Null), value);
            }
        }
        (into, from) => *into = from,
    }
}

impl Replayed {
    /// `call` made with `request`, or `None` when none of the component's
    /// worlds answers it.
    async fn call(&self, call: Call, request: &Request) -> Result<Option<Printed>, String> {
        let Some(world) = self.worlds.iter().find(|w| call.answered_by(**w)) else {
            return Ok(None);
        };
        fire::call(&self.host, call, Some(*world), request)
            .await
            .map(Some)
    }
}
