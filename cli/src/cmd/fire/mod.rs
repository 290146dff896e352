//! `hookhost fire`: call the hooks and plugins of a configuration, or one
//! component alone, with one event, and print the answer as JSON.
//!
//! The event is what SFTPGo sends, in the form it sends it: the body of
//! the request (`--event FILE`) and its query string (`--query`) of the
//! route `serve` answers for that hook — an fs action's JSON, a pre-login's
//! user with `login_method=…&ip=…&protocol=…`, a post-connect's
//! `ip=…&protocol=…`, and so on. Plugin calls take the fields of SFTPGo's
//! plugin request as JSON (KMS, notifier log events) or the query of
//! SFTPGo's REST API (event searches). docs/writing-hooks.md lists a sample
//! of each.
//!
//! With `--hook` the component's world is read from its exports, which
//! picks the call; `--call` names it where a world answers several (a KMS
//! plugin's encrypt and decrypt, an auth plugin's checks).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use hookhost::hook::{Answer, World, worlds_of};
use hookhost::{Config, HookReport, Host};
use serde_json::{Value, json};

use super::{Journal, build_host};

mod fs;
mod login;
mod plugin;
pub(crate) mod solo;

/// Call the hooks or plugins for one event and print the answer as JSON.
#[derive(clap::Args)]
pub struct FireArgs {
    /// Configuration file (SFTPGo JSON format).
    #[arg(long, required_unless_present = "hook", conflicts_with = "hook")]
    config: Option<PathBuf>,
    /// A component to try alone, without a configuration: its world (read
    /// from its exports) says what it is called with.
    #[arg(long)]
    hook: Option<PathBuf>,
    /// With --hook: grant a directory, HOST:GUEST (read-only) or
    /// HOST:GUEST:rw (writable). Repeatable.
    #[arg(long, requires = "hook")]
    grant_dir: Vec<String>,
    /// With --hook: an argument for the component (after argv[0]).
    /// Repeatable.
    #[arg(long = "arg", requires = "hook", allow_hyphen_values = true)]
    args: Vec<String>,
    /// With --hook: a variable for the component, NAME=VALUE. Repeatable.
    #[arg(long, requires = "hook")]
    env: Vec<String>,
    /// With --hook: an origin the component may send HTTP requests to
    /// (`https://hooks.example.com`). Repeatable.
    #[arg(long, requires = "hook")]
    grant_http: Vec<String>,
    /// The request body SFTPGo sends: an fs action's JSON, a provider
    /// object (with --provider-action), a pre-login's or post-login's
    /// user, an external-auth or check-password request, a first
    /// keyboard-interactive round, a data-retention report; for plugins,
    /// a KMS request or a log event.
    #[arg(long)]
    event: Option<PathBuf>,
    /// The request's query string, as SFTPGo sends it: `login_method=
    /// password&ip=192.0.2.10&protocol=SSH` (pre-login; post-login adds
    /// `status=1`), `ip=…&protocol=…` (post-connect, an IP filter),
    /// `ip=…&protocol=…&username=…&connection_duration=…`
    /// (post-disconnect), a REST API event search's parameters.
    #[arg(long)]
    query: Option<String>,
    /// Keyboard-interactive: the client's answers to each round after the
    /// first, one JSON array of strings per line (a question the server
    /// checks itself is answered `"OK"`, as SFTPGo forwards it).
    #[arg(long)]
    answers: Option<PathBuf>,
    /// What to call; by default what the component's world answers (with
    /// --config: an fs event, or a provider event with --provider-action).
    #[arg(long, value_enum)]
    call: Option<Call>,
    /// Fire a provider event (add, update, delete) for the object in --event.
    #[arg(long)]
    provider_action: Option<String>,
    /// Object type of a provider event.
    #[arg(long, default_value = "user")]
    object_type: String,
}

/// What `fire` calls: one of `serve`'s routes, or a plugin's method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Call {
    /// An fs action (`/v1/actions/fs`).
    Fs,
    /// A provider action (`/v1/actions/provider`).
    Provider,
    /// `/v1/pre-login`.
    PreLogin,
    /// `/v1/auth/external` (an external-auth hook or an auth plugin).
    ExternalAuth,
    /// `/v1/auth/check-password` (a hook or an auth plugin).
    CheckPassword,
    /// `/v1/auth/keyboard-interactive`, every round (a hook or an auth
    /// plugin).
    KeyboardInteractive,
    /// `/v1/post-login`.
    PostLogin,
    /// `/v1/post-connect` (the hooks, after an IP filter plugin).
    PostConnect,
    /// `/v1/post-disconnect`.
    PostDisconnect,
    /// `/v1/startup`.
    Startup,
    /// `/v1/data-retention`.
    DataRetention,
    /// A notifier plugin's log event.
    LogEvent,
    /// A KMS plugin's encrypt.
    Encrypt,
    /// A KMS plugin's decrypt.
    Decrypt,
    /// An IP filter plugin's check.
    CheckIp,
    /// An IP filter plugin's reload.
    Reload,
    /// An event searcher's fs event search.
    SearchFs,
    /// An event searcher's provider event search.
    SearchProvider,
    /// An event searcher's log event search.
    SearchLog,
}

impl Call {
    /// Its name on the command line.
    pub(crate) fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value()
            .expect("no variant is skipped")
            .get_name()
            .to_owned()
    }

    /// What a component of `world` is called with when `--call` is not
    /// given.
    fn default_for(world: World, provider_action: bool) -> Result<Call, String> {
        use hookhost::event::login::LoginHook as H;
        Ok(match world {
            World::Provider => Call::Provider,
            World::Fs | World::Notifier if provider_action => Call::Provider,
            World::Fs | World::Notifier => Call::Fs,
            World::Login(hook) => match hook {
                H::PreLogin => Call::PreLogin,
                H::ExternalAuth => Call::ExternalAuth,
                H::CheckPassword => Call::CheckPassword,
                H::KeyboardInteractive => Call::KeyboardInteractive,
                H::PostLogin => Call::PostLogin,
                H::PostConnect => Call::PostConnect,
                H::PostDisconnect => Call::PostDisconnect,
                H::Startup => Call::Startup,
                H::DataRetention => Call::DataRetention,
                H::EventRule => {
                    return Err(
                        "an event-rule-hook: `fire` does not call Event Manager rules; `serve` takes them at /v1/events".into(),
                    );
                }
            },
            World::Auth => Call::ExternalAuth,
            World::IpFilter => Call::CheckIp,
            World::Kms => return Err("a kms-plugin: say --call encrypt or --call decrypt".into()),
            World::EventSearcher => {
                return Err(
                    "an eventsearcher-plugin: say --call search-fs, search-provider or search-log"
                        .into(),
                );
            }
        })
    }

    /// Whether a component of `world` answers this call.
    pub(crate) fn answered_by(self, world: World) -> bool {
        use hookhost::event::login::LoginHook as H;
        match self {
            Call::Fs | Call::Provider => {
                world == World::Notifier
                    || world
                        == if self == Call::Fs {
                            World::Fs
                        } else {
                            World::Provider
                        }
            }
            Call::LogEvent => world == World::Notifier,
            Call::ExternalAuth | Call::CheckPassword | Call::KeyboardInteractive
                if world == World::Auth =>
            {
                true
            }
            Call::PostConnect if world == World::IpFilter => true,
            Call::PreLogin => world == World::Login(H::PreLogin),
            Call::ExternalAuth => world == World::Login(H::ExternalAuth),
            Call::CheckPassword => world == World::Login(H::CheckPassword),
            Call::KeyboardInteractive => world == World::Login(H::KeyboardInteractive),
            Call::PostLogin => world == World::Login(H::PostLogin),
            Call::PostConnect => world == World::Login(H::PostConnect),
            Call::PostDisconnect => world == World::Login(H::PostDisconnect),
            Call::Startup => world == World::Login(H::Startup),
            Call::DataRetention => world == World::Login(H::DataRetention),
            Call::Encrypt | Call::Decrypt => world == World::Kms,
            Call::CheckIp | Call::Reload => world == World::IpFilter,
            Call::SearchFs | Call::SearchProvider | Call::SearchLog => {
                world == World::EventSearcher
            }
        }
    }
}

/// The component alone, with the grants the command line gives it.
pub(crate) struct Solo {
    pub(crate) hook: PathBuf,
    pub(crate) world: World,
    pub(crate) grant_dirs: Vec<String>,
    pub(crate) grant_http: Vec<String>,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<String>,
}

/// One event as given: its body, its query, and the rest of the command
/// line that shapes it.
pub(crate) struct Request {
    body: Option<(PathBuf, Vec<u8>)>,
    query: HashMap<String, String>,
    answers: Option<PathBuf>,
    provider_action: Option<String>,
    object_type: String,
}

impl Request {
    /// A line of a recording (`hookhost.record`): an fs event's body, or
    /// `{"call": …, "query": …, "event": …}` as `--call`, `--query` and
    /// `--event` give them; a provider event's action and object type are
    /// in its query, as SFTPGo sends them.
    pub(crate) fn recorded(line: &str) -> Result<(Call, Request), String> {
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("not a JSON line: {e}"))?;
        let Some(call) = value.get("call") else {
            return Ok((
                Call::Fs,
                Request::of(line.as_bytes().to_vec(), HashMap::new()),
            ));
        };
        let name = call.as_str().ok_or("call: expected a string")?;
        let call = <Call as clap::ValueEnum>::from_str(name, false)
            .map_err(|_| format!("call: {name:?} is not a call `fire --call` takes"))?;
        let query = parse_query(value["query"].as_str().unwrap_or(""))?;
        let body = match &value["event"] {
            Value::Null => Vec::new(),
            event => event.to_string().into_bytes(),
        };
        let mut request = Request::of(body, query);
        request.provider_action = request.query.get("action").cloned();
        if let Some(object_type) = request.query.get("object_type") {
            request.object_type = object_type.clone();
        }
        Ok((call, request))
    }

    fn of(body: Vec<u8>, query: HashMap<String, String>) -> Request {
        Request {
            body: (!body.is_empty()).then(|| (PathBuf::from("the recorded event"), body)),
            query,
            answers: None,
            provider_action: None,
            object_type: "user".into(),
        }
    }

    /// The body, which `call` needs.
    fn body(&self, call: Call) -> Result<&[u8], String> {
        self.body
            .as_ref()
            .map(|(_, bytes)| bytes.as_slice())
            .ok_or_else(|| {
                format!(
                    "--call {}: the request body is missing (--event FILE)",
                    call.name()
                )
            })
    }

    /// A field error, naming the file it came from.
    fn in_body(&self, err: impl std::fmt::Display) -> String {
        match &self.body {
            Some((path, _)) => format!("{}: {err}", path.display()),
            None => err.to_string(),
        }
    }

    /// A query parameter, or empty.
    fn param(&self, key: &str) -> &str {
        self.query.get(key).map(String::as_str).unwrap_or("")
    }
}

/// What a call printed and whether the operation may go on.
pub(crate) struct Printed {
    pub(crate) value: Value,
    pub(crate) success: bool,
}

impl FireArgs {
    /// `--hook` asks for every guest log line.
    pub fn tries_a_hook_alone(&self) -> bool {
        self.hook.is_some()
    }

    pub async fn run(self) -> Result<ExitCode, String> {
        let body = match &self.event {
            Some(path) => Some((
                path.clone(),
                std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
            )),
            None => None,
        };
        let query = match &self.query {
            Some(query) => parse_query(query)?,
            None => HashMap::new(),
        };
        let request = Request {
            body,
            query,
            answers: self.answers,
            provider_action: self.provider_action,
            object_type: self.object_type,
        };
        let (call, solo) = match self.hook {
            Some(hook) => {
                let bytes =
                    std::fs::read(&hook).map_err(|e| format!("--hook {}: {e}", hook.display()))?;
                let worlds =
                    worlds_of(&bytes).map_err(|e| format!("--hook {}: {e}", hook.display()))?;
                if bytes.len() > 4 << 20 {
                    // A Python or JavaScript component embeds its runtime.
                    super::progress(&format!(
                        "{} is {} MB: its first compile takes 10-20 s on 2 cores, then it is cached",
                        hook.display(),
                        bytes.len() >> 20
                    ));
                }
                let (call, world) = pick(self.call, &worlds, request.provider_action.is_some())
                    .map_err(|e| format!("--hook {}: {e}", hook.display()))?;
                let solo = Solo {
                    hook,
                    world,
                    grant_dirs: self.grant_dir,
                    grant_http: self.grant_http,
                    args: self.args,
                    env: self.env,
                };
                (call, Some(solo))
            }
            None => {
                let call = self.call.unwrap_or(if request.provider_action.is_some() {
                    Call::Provider
                } else {
                    Call::Fs
                });
                (call, None)
            }
        };
        let host = match (&self.config, &solo) {
            (Some(config), _) => build_host(config, Journal::Skip).await?,
            (None, Some(solo)) => {
                let config = solo::config(solo, &request)?;
                Host::builder(config)
                    .plugin_env(solo::plugin_env(solo))
                    .build()
                    .await
                    .map_err(|e| e.to_string())?
            }
            (None, None) => unreachable!("clap requires --config or --hook"),
        };
        let printed = self::call(&host, call, solo.as_ref().map(|s| s.world), &request).await;
        host.shutdown().await;
        let Printed { value, success } = printed?;
        println!("{value}");
        Ok(if success {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}

/// The call and the world a component of `worlds` is tried as: `call`
/// when one of them answers it, else the one world's own call.
fn pick(
    call: Option<Call>,
    worlds: &[World],
    provider_action: bool,
) -> Result<(Call, World), String> {
    let names = || {
        worlds
            .iter()
            .map(|w| w.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (call, worlds) {
        (Some(call), _) => worlds
            .iter()
            .find(|w| call.answered_by(**w))
            .map(|w| (call, *w))
            .ok_or_else(|| format!("--call {}: a {} does not answer it", call.name(), names())),
        (None, [world]) => Ok((Call::default_for(*world, provider_action)?, *world)),
        (None, _) => Err(format!(
            "it exports several worlds ({}): say which with --call",
            names()
        )),
    }
}

/// Make `call` on `host` (a component of `world` alone, or a
/// configuration's hooks and plugins) with `request`.
pub(crate) async fn call(
    host: &Host,
    call: Call,
    world: Option<World>,
    request: &Request,
) -> Result<Printed, String> {
    let notifier = world == Some(World::Notifier);
    match call {
        Call::Fs | Call::Provider if notifier => plugin::notify(host, call, request).await,
        Call::Fs => fs::fs(host, request).await,
        Call::Provider => fs::provider(host, request).await,
        Call::LogEvent => plugin::notify(host, call, request).await,
        Call::Encrypt | Call::Decrypt => plugin::kms(host, call, request).await,
        Call::CheckIp | Call::Reload => plugin::ipfilter(host, call, request).await,
        Call::SearchFs | Call::SearchProvider | Call::SearchLog => {
            plugin::search(host, call, request).await
        }
        Call::KeyboardInteractive => login::keyboard_interactive(host, request).await,
        _ => login::login(host, call, request).await,
    }
}

/// A query string's parameters (`a=1&b=x%20y`); a repeated one keeps its
/// last value, as SFTPGo's `Query().Get` reads the first of one it sent
/// once.
fn parse_query(query: &str) -> Result<HashMap<String, String>, String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut params = HashMap::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key.is_empty() {
            return Err(format!("--query {query:?}: a parameter without a name"));
        }
        params.insert(key.into_owned(), value.into_owned());
    }
    Ok(params)
}

/// One hook's report as printed. A hook whose answer does not decide (a
/// provider hook, a post-login hook) and says no has failed: its `deny`
/// is printed as `error`, as the host logs it ("hook failed").
fn report_json(report: &HookReport, decides: bool) -> Value {
    let (outcome, reason) = match &report.result {
        Ok(Answer::Allow) => ("allow", None),
        Ok(Answer::Handled) => ("handled", None),
        Ok(Answer::Reply(_)) => ("answered", None),
        Ok(Answer::Deny(reason)) if decides => ("deny", Some(reason.clone())),
        Ok(Answer::Deny(reason)) => ("error", Some(reason.clone())),
        Err(failure) => (failure.label(), Some(failure.to_string())),
    };
    let mut value = json!({
        "hook": &*report.hook,
        "kind": report.kind,
        "outcome": outcome,
        "duration_us": report.duration.as_micros() as u64,
    });
    if let Some(reason) = reason {
        value["reason"] = json!(reason);
    }
    value
}

/// A solo configuration, parsed as any configuration.
fn parse_config(value: Value) -> Result<Config, String> {
    Config::from_value(value, std::path::Path::new("/")).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookhost::event::login::LoginHook;

    #[test]
    fn every_world_has_a_call_it_answers_or_says_which_to_choose() {
        for world in World::all() {
            match Call::default_for(world, false) {
                Ok(call) => assert!(call.answered_by(world), "{world}: {call:?}"),
                Err(why) => assert!(
                    why.contains("--call") || world == World::Login(LoginHook::EventRule),
                    "{world}: {why}"
                ),
            }
        }
        assert_eq!(Call::default_for(World::Notifier, true), Ok(Call::Provider));
        assert!(!Call::Encrypt.answered_by(World::Login(LoginHook::PreLogin)));
        assert!(Call::CheckPassword.answered_by(World::Auth));
    }

    #[test]
    fn a_query_reads_as_sftpgo_writes_it() {
        let q = parse_query("?login_method=password&ip=192.0.2.10&protocol=SSH&x=a%20b").unwrap();
        assert_eq!(q["login_method"], "password");
        assert_eq!(q["x"], "a b");
        assert!(parse_query("=1").unwrap_err().contains("without a name"));
    }
}
