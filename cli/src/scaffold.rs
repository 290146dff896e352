//! `hookhost new KIND NAME`: a ready project for a hook or plugin — a
//! manifest with the guest SDK and `cdylib`, a handler, a configuration
//! that runs it, test events where `hookhost fire` can use them, and a
//! README of three commands.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hookhost::event::login::LoginHook;
use hookhost::hook::World;
use serde_json::{Value, json};

/// Languages `new` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

/// One kind: its WIT world, how the Rust handler reads, and where the
/// configuration puts it.
struct Kind {
    world: &'static str,
    /// The SDK items the handler uses, the impl block, and the export macro.
    uses: &'static str,
    body: &'static str,
    export: &'static str,
    /// What it does, for the docs of the generated handler.
    about: &'static str,
}

const KINDS: &[Kind] = &[
    Kind {
        world: "fs-hook",
        uses: "",
        body: "",
        export: "",
        about: "refuses uploads over a size limit",
    },
    Kind {
        world: "provider-hook",
        uses: "use hookhost_guest::{ProviderEvent, ProviderHook, log};",
        body: "impl ProviderHook for Hook {
    fn handle(event: ProviderEvent) -> Result<(), String> {
        log::info(
            \"provider event\",
            &[(\"action\", event.action.as_str()), (\"object\", &event.object_name)],
        );
        Ok(())
    }
}",
        export: "export_provider_hook",
        about: "is told of every user change (an error is logged and counted)",
    },
    Kind {
        world: "pre-login-hook",
        uses: "use hookhost_guest::login::{Login, PreLogin, PreLoginAnswer};",
        body: "impl PreLogin for Hook {
    fn pre_login(login: Login, user: String) -> PreLoginAnswer {
        // `user` is SFTPGo's user JSON (`id` 0 for a user it does not know);
        // answer Replace(json) to create or change it just in time.
        let _ = (login, user);
        PreLoginAnswer::NoChange
    }
}",
        export: "export_pre_login_hook",
        about: "runs before each login the provider checks",
    },
    Kind {
        world: "external-auth-hook",
        uses: "use hookhost_guest::login::{AuthAnswer, Credentials, ExternalAuth};",
        body: "impl ExternalAuth for Hook {
    fn authenticate(credentials: Credentials, user: Option<String>) -> AuthAnswer {
        match user {
            // A user SFTPGo knows: keep it as stored.
            Some(_) => AuthAnswer::StoredUser,
            None => AuthAnswer::Deny(format!(\"{} is unknown\", credentials.username)),
        }
    }
}",
        export: "export_external_auth_hook",
        about: "authenticates logins instead of the provider",
    },
    Kind {
        world: "check-password-hook",
        uses: "use hookhost_guest::login::{CheckPassword, PasswordCheck};",
        body: "impl CheckPassword for Hook {
    fn check_password(username: String, password: String, ip: String, protocol: String) -> PasswordCheck {
        let _ = (username, ip, protocol);
        // E.g. a password followed by a 6-digit code: check the code here,
        // and let SFTPGo check the rest against the stored password.
        match password.len().checked_sub(6) {
            Some(split) => PasswordCheck::Partial(password[..split].to_owned()),
            None => PasswordCheck::Wrong(\"too short\".into()),
        }
    }
}",
        export: "export_check_password_hook",
        about: "checks the password of a user SFTPGo stores",
    },
    Kind {
        world: "keyboard-interactive-hook",
        uses: "use hookhost_guest::login::{Challenge, KeyboardInteractive, Round, RoundAnswer};",
        body: "impl KeyboardInteractive for Hook {
    fn next_round(round: Round) -> RoundAnswer {
        match round.step {
            // SFTPGo checks the answer as the password (check_password 1)
            // and forwards `OK` when it passed.
            1 => RoundAnswer::Ask(Challenge {
                instruction: String::new(),
                questions: vec![\"Password: \".into()],
                echos: vec![false],
                check_password: 1,
            }),
            _ if round.answers == [\"OK\"] => RoundAnswer::Accept,
            _ => RoundAnswer::Deny(\"wrong password\".into()),
        }
    }
}",
        export: "export_keyboard_interactive_hook",
        about: "asks keyboard-interactive questions, one instance per login",
    },
    Kind {
        world: "post-login-hook",
        uses: "use hookhost_guest::login::{Login, PostLogin};\nuse hookhost_guest::log;",
        body: "impl PostLogin for Hook {
    fn post_login(login: Login, succeeded: bool, _user: String) -> Result<(), String> {
        log::info(
            \"login\",
            &[(\"user\", &login.username), (\"ip\", &login.ip), (\"ok\", &succeeded.to_string())],
        );
        Ok(())
    }
}",
        export: "export_post_login_hook",
        about: "is told of each login",
    },
    Kind {
        world: "post-connect-hook",
        uses: "use hookhost_guest::login::PostConnect;",
        body: "impl PostConnect for Hook {
    fn post_connect(ip: String, protocol: String) -> Result<(), String> {
        let _ = protocol;
        // Ok allows the connection; an error refuses it.
        if ip.is_empty() { Err(\"no client address\".into()) } else { Ok(()) }
    }
}",
        export: "export_post_connect_hook",
        about: "decides whether a new connection may go on",
    },
    Kind {
        world: "post-disconnect-hook",
        uses: "use hookhost_guest::login::PostDisconnect;\nuse hookhost_guest::log;",
        body: "impl PostDisconnect for Hook {
    fn post_disconnect(ip: String, protocol: String, username: String, duration_ms: i64) -> Result<(), String> {
        log::info(
            \"disconnected\",
            &[(\"user\", &username), (\"ip\", &ip), (\"protocol\", &protocol), (\"ms\", &duration_ms.to_string())],
        );
        Ok(())
    }
}",
        export: "export_post_disconnect_hook",
        about: "is told of each closed connection",
    },
    Kind {
        world: "startup-hook",
        uses: "use hookhost_guest::login::Startup;\nuse hookhost_guest::log;",
        body: "impl Startup for Hook {
    fn startup() -> Result<(), String> {
        log::info(\"the server started\", &[]);
        Ok(())
    }
}",
        export: "export_startup_hook",
        about: "runs once the server has started",
    },
    Kind {
        world: "notifier-plugin",
        uses: "use hookhost_guest::{FsEvent, LogEvent, Notifier, ProviderEvent, log};",
        body: "impl Notifier for Hook {
    fn notify_fs_event(event: FsEvent) -> Result<(), String> {
        log::info(\"fs event\", &[(\"action\", event.action.as_str()), (\"path\", &event.path)]);
        Ok(())
    }

    fn notify_provider_event(event: ProviderEvent) -> Result<(), String> {
        log::info(\"provider event\", &[(\"object\", &event.object_name)]);
        Ok(())
    }

    fn notify_log_event(_event: LogEvent) -> Result<(), String> {
        // An error makes the host queue the event and retry it.
        Ok(())
    }
}",
        export: "export_notifier",
        about: "receives the events its notifier_options select (one long-lived instance)",
    },
    Kind {
        world: "kms-plugin",
        uses: "use hookhost_guest::kms::{Encrypted, Kms, Secret};",
        body: "impl Kms for Hook {
    fn encrypt(_secret: Secret, _url: String, _master_key: String) -> Result<Encrypted, String> {
        Err(\"encrypt: not written yet\".into())
    }

    fn decrypt(_secret: Secret, _url: String, _master_key: String) -> Result<String, String> {
        Err(\"decrypt: not written yet\".into())
    }
}",
        export: "export_kms",
        about: "encrypts and decrypts SFTPGo's secrets",
    },
    Kind {
        world: "auth-plugin",
        uses: "use hookhost_guest::auth::{Auth, CheckPasswordResult, KeyboardRequest, KeyboardResponse};",
        body: "const REFUSED: &str = \"authentication refused\";

impl Auth for Hook {
    fn check_user_and_pass(_username: String, _password: String, _ip: String, _protocol: String, _user: Option<String>) -> Result<Option<String>, String> {
        Err(REFUSED.into())
    }

    fn check_user_and_public_key(_username: String, _key: String, _ip: String, _protocol: String, _user: Option<String>) -> Result<Option<String>, String> {
        Err(REFUSED.into())
    }

    fn check_user_and_tls_cert(_username: String, _pem: String, _ip: String, _protocol: String, _user: Option<String>) -> Result<Option<String>, String> {
        Err(REFUSED.into())
    }

    fn check_user_and_keyboard_interactive(_username: String, _ip: String, _protocol: String, _user: Option<String>) -> Result<Option<String>, String> {
        Err(REFUSED.into())
    }

    fn send_keyboard_auth_request(_request: KeyboardRequest) -> Result<KeyboardResponse, String> {
        Err(REFUSED.into())
    }

    fn check_password(_username: String, _password: String, _ip: String, _protocol: String) -> Result<CheckPasswordResult, String> {
        Err(REFUSED.into())
    }
}",
        export: "export_auth",
        about: "authenticates logins in its scope (refuses everything until written)",
    },
    Kind {
        world: "eventsearcher-plugin",
        uses: "use hookhost_guest::search::{EventSearcher, FsEventSearch, LogEventSearch, ProviderEventSearch, SearchResult};",
        body: "fn nothing() -> SearchResult {
    SearchResult {
        events: \"[]\".into(),
        same_ts_at_start: Vec::new(),
        same_ts_at_end: Vec::new(),
    }
}

impl EventSearcher for Hook {
    fn search_fs_events(_filter: FsEventSearch) -> Result<SearchResult, String> {
        Ok(nothing())
    }

    fn search_provider_events(_filter: ProviderEventSearch) -> Result<SearchResult, String> {
        Ok(nothing())
    }

    fn search_log_events(_filter: LogEventSearch) -> Result<SearchResult, String> {
        Ok(nothing())
    }
}",
        export: "export_eventsearcher",
        about: "answers SFTPGo's event searches (finds nothing until written)",
    },
    Kind {
        world: "ipfilter-plugin",
        uses: "use hookhost_guest::ipfilter::IpFilter;",
        body: "impl IpFilter for Hook {
    fn check_ip(ip: String, _protocol: String) -> Result<(), String> {
        // Ok allows the address; an error (the reason) refuses it.
        if ip.starts_with(\"192.0.2.\") { Err(format!(\"{ip} is refused\")) } else { Ok(()) }
    }

    fn reload() -> Result<(), String> {
        Ok(())
    }
}",
        export: "export_ipfilter",
        about: "allows or refuses client addresses",
    },
];

/// The kinds `new` knows, by world name.
pub fn kinds() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.world).collect()
}

fn kind(name: &str) -> Result<&'static Kind, String> {
    KINDS
        .iter()
        .find(|k| k.world == name || k.world.strip_suffix("-hook") == Some(name))
        .ok_or_else(|| {
            format!(
                "unknown kind {name:?} (expected one of: {})",
                kinds().join(", ")
            )
        })
}

/// The guest workspace's lock file (examples/Cargo.lock), written into a
/// new Rust project.
const GUEST_LOCK: &str = include_str!("../../examples/Cargo.lock");

/// Where `new` points the SDK dependency: `--sdk`, else the guest SDK of
/// the hookhost source tree this binary was built from.
fn sdk_path(sdk: Option<PathBuf>) -> Result<PathBuf, String> {
    let path = sdk.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk"));
    let manifest = path.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(format!(
            "the guest SDK is not at {} (hookhost-guest is not on crates.io yet): pass --sdk PATH to a checkout's guest-sdk/",
            path.display()
        ));
    }
    std::fs::canonicalize(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The WIT package, for languages that build from it.
const WIT: [(&str, &str); 5] = [
    ("types.wit", include_str!("../../wit/types.wit")),
    ("hooks.wit", include_str!("../../wit/hooks.wit")),
    ("host.wit", include_str!("../../wit/host.wit")),
    ("login.wit", include_str!("../../wit/login.wit")),
    ("plugins.wit", include_str!("../../wit/plugins.wit")),
];

fn write(dir: &Path, file: &str, text: &str) -> Result<(), String> {
    let path = dir.join(file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `entry` with the fields of `extra` added (both JSON objects).
pub(crate) fn with(mut entry: Value, extra: Value) -> Value {
    if let (Some(entry), Value::Object(extra)) = (entry.as_object_mut(), extra) {
        entry.extend(extra);
    }
    entry
}

/// The configuration that runs `entry` as SFTPGo's `hook` login or
/// connection hook: the key SFTPGo reads it from (keyboard-interactive
/// turned on for its hook). `fire --hook` places a component the same way.
pub(crate) fn login_config(hook: LoginHook, entry: Value) -> Value {
    match hook {
        LoginHook::KeyboardInteractive => json!({"sftpd": {
            "keyboard_interactive_authentication": true,
            "keyboard_interactive_auth_hooks": [entry]}}),
        LoginHook::PostConnect
        | LoginHook::PostDisconnect
        | LoginHook::Startup
        | LoginHook::DataRetention => {
            json!({"common": {format!("{}_hooks", hook.as_str()): [entry]}})
        }
        _ => json!({"data_provider": {format!("{}_hooks", hook.as_str()): [entry]}}),
    }
}

/// The configuration entry that runs `wasm` as `kind`.
fn config(kind: &Kind, name: &str, wasm: &str, limits: Value) -> Value {
    let hook = |extra: Value| with(json!({"name": name, "hook": wasm, "limits": limits}), extra);
    let plugin = |kind: &str, extra: Value| json!({"plugins": [with(json!({"type": kind, "cmd": wasm}), extra)]});
    match kind.world {
        "fs-hook" => json!({"common": {"actions": {"execute_on": [], "hook": "",
            "execute_sync": ["upload"],
            "hooks": [hook(json!({"execute_on": ["upload"], "grants": {"args": ["10485760"]}}))]}}}),
        "provider-hook" => json!({"data_provider": {"actions": {"execute_on": [], "hook": "",
            "hooks": [hook(json!({"execute_on": ["add", "update", "delete"], "execute_for": ["user"]}))]}}}),
        world if world.ends_with("-hook") => match World::from_name(world) {
            Some(World::Login(login)) => login_config(login, hook(json!({}))),
            _ => unreachable!("{world}: every other hook kind is a login world"),
        },
        "notifier-plugin" => plugin(
            "notifier",
            json!({"notifier_options": {
            "fs_events": ["upload", "delete", "rename"], "provider_events": ["add", "update", "delete"],
            "provider_objects": ["user"], "retry_max_time": 60, "retry_queue_max_size": 1000}}),
        ),
        "auth-plugin" => plugin("auth", json!({"auth_options": {"scope": 1}})),
        "kms-plugin" => plugin(
            "kms",
            json!({"kms_options": {"scheme": "hashivault", "encrypted_status": "VaultTransit"}}),
        ),
        world => plugin(world.trim_end_matches("-plugin"), json!({})),
    }
}

/// One way the README fires the component: `hookhost fire --hook WASM`
/// and these arguments, and the exit status it gives.
struct Fire {
    args: &'static str,
    exit: u8,
    says: &'static str,
}

/// The sample requests of a world (files under `events/`) and the fire
/// lines that use them: what SFTPGo sends, as `fire` and `serve` take it.
fn samples(kind: &Kind) -> (Vec<(&'static str, String)>, Vec<Fire>) {
    let json = |v: Value| serde_json::to_string_pretty(&v).expect("JSON") + "\n";
    let upload = |size: i64| {
        json(
            json!({"action": "upload", "username": "alice", "path": "/srv/sftpgo/data/alice/report.pdf",
            "virtual_path": "/report.pdf", "file_size": size, "fs_provider": 0, "status": 1,
            "protocol": "SFTP", "ip": "192.0.2.10", "session_id": "SFTP_0123", "timestamp": 1_700_000_000_000_000_000i64}),
        )
    };
    let user = || json(json!({"id": 0, "username": "alice"}));
    let stored =
        json!({"id": 1, "username": "alice", "status": 1, "home_dir": "/srv/sftpgo/data/alice"});
    let login = |user: Option<&Value>| {
        let mut v = json!({"username": "alice", "ip": "192.0.2.10", "protocol": "SSH", "password": "secret123456"});
        if let Some(user) = user {
            v["user"] = user.clone();
        }
        json(v)
    };
    let round = || {
        json(
            json!({"request_id": "cu1f0rbo1sm1ad6vb2bg", "step": 1, "username": "alice", "ip": "192.0.2.10", "password": ""}),
        )
    };
    let fire = |args, exit, says| Fire { args, exit, says };
    match kind.world {
        "fs-hook" => (
            vec![
                ("events/upload-small.json", upload(2048)),
                ("events/upload-big.json", upload(50 << 20)),
            ],
            vec![
                fire(
                    "--arg 10485760 --event events/upload-small.json",
                    0,
                    "allowed",
                ),
                fire(
                    "--arg 10485760 --event events/upload-big.json",
                    1,
                    "denied: over the limit",
                ),
            ],
        ),
        "provider-hook" => (
            vec![(
                "events/user.json",
                json(
                    json!({"username": "alice", "status": 1, "home_dir": "/srv/sftpgo/data/alice"}),
                ),
            )],
            vec![fire(
                "--event events/user.json --provider-action add",
                0,
                "told",
            )],
        ),
        "pre-login-hook" => (
            vec![("events/user.json", user())],
            vec![fire(
                "--event events/user.json --query 'login_method=password&ip=192.0.2.10&protocol=SSH'",
                0,
                "no change",
            )],
        ),
        "external-auth-hook" => (
            vec![
                ("events/login.json", login(Some(&stored))),
                ("events/login-unknown.json", login(None)),
            ],
            vec![
                fire("--event events/login.json", 0, "the stored user"),
                fire("--event events/login-unknown.json", 1, "refused: unknown"),
            ],
        ),
        "check-password-hook" => (
            vec![("events/password.json", login(None))],
            vec![fire(
                "--event events/password.json",
                0,
                "partly right: SFTPGo checks \"secret\"",
            )],
        ),
        "keyboard-interactive-hook" => (
            vec![
                ("events/round.json", round()),
                ("events/answers.txt", "[\"OK\"]\n".into()),
            ],
            vec![fire(
                "--event events/round.json --answers events/answers.txt",
                0,
                "two rounds, accepted",
            )],
        ),
        "post-login-hook" => (
            vec![("events/user.json", json(stored))],
            vec![fire(
                "--event events/user.json --query 'login_method=password&ip=192.0.2.10&protocol=SSH&status=1'",
                0,
                "told",
            )],
        ),
        "post-connect-hook" => (
            Vec::new(),
            vec![fire("--query 'ip=192.0.2.10&protocol=SSH'", 0, "allowed")],
        ),
        "post-disconnect-hook" => (
            Vec::new(),
            vec![fire(
                "--query 'ip=192.0.2.10&protocol=SSH&username=alice&connection_duration=4200'",
                0,
                "told",
            )],
        ),
        "startup-hook" => (Vec::new(), vec![fire("", 0, "ran")]),
        "notifier-plugin" => (
            vec![
                ("events/upload.json", upload(2048)),
                (
                    "events/log.json",
                    json(
                        json!({"event": 1, "protocol": "SSH", "username": "alice", "ip": "192.0.2.10", "message": "wrong password"}),
                    ),
                ),
            ],
            vec![
                fire("--event events/upload.json", 0, "told"),
                fire("--call log-event --event events/log.json", 0, "told"),
            ],
        ),
        "kms-plugin" => (
            vec![(
                "events/plain.json",
                json(json!({"payload": "s3cret", "additional_data": "alice"})),
            )],
            vec![fire(
                "--call encrypt --event events/plain.json",
                1,
                "refused until written",
            )],
        ),
        "auth-plugin" => (
            vec![("events/login.json", login(Some(&stored)))],
            vec![fire(
                "--event events/login.json",
                1,
                "refused until written",
            )],
        ),
        "eventsearcher-plugin" => (
            Vec::new(),
            vec![fire(
                "--call search-fs --query 'limit=10&order=DESC'",
                0,
                "found nothing",
            )],
        ),
        "ipfilter-plugin" => (
            Vec::new(),
            vec![
                fire("--query 'ip=203.0.113.7&protocol=SSH'", 0, "allowed"),
                fire("--query 'ip=192.0.2.10&protocol=SSH'", 1, "refused"),
            ],
        ),
        other => unreachable!("{other} has no samples"),
    }
}

fn snake(name: &str) -> String {
    name.replace('-', "_")
}

/// The handler template of `world` in Python or JavaScript.
fn source(world: &str, lang: Lang) -> &'static str {
    macro_rules! templates {
        ($($world:literal),+ $(,)?) => {
            match (world, lang) {
                $(
                    ($world, Lang::Python) => include_str!(concat!("../templates/python/", $world, ".py")),
                    ($world, Lang::Js) => include_str!(concat!("../templates/js/", $world, ".js")),
                )+
                _ => unreachable!("{world} in {lang:?}: every kind has a template"),
            }
        };
    }
    templates!(
        "fs-hook",
        "provider-hook",
        "pre-login-hook",
        "external-auth-hook",
        "check-password-hook",
        "keyboard-interactive-hook",
        "post-login-hook",
        "post-connect-hook",
        "post-disconnect-hook",
        "startup-hook",
        "notifier-plugin",
        "kms-plugin",
        "auth-plugin",
        "eventsearcher-plugin",
        "ipfilter-plugin",
    )
}

/// WASI's environment interface, for JavaScript: componentize-js links
/// only what the world imports, and a hook's granted `args` and `env` are
/// read through it.
const WASI_ENVIRONMENT: &str = "package wasi:cli@0.2.3;

/// A hook's granted arguments (`grants.args`, after argv[0]) and variables
/// (`grants.env`).
interface environment {
    get-environment: func() -> list<tuple<string, string>>;
    get-arguments: func() -> list<string>;
    initial-cwd: func() -> option<string>;
}
";

/// The JavaScript project's world: hookhost's, and the environment.
fn js_world(world: &str) -> String {
    format!(
        "package hookhost:hooks@0.2.0;

/// `{world}`, and WASI's environment for the granted `args` and `env`
/// (`import {{ getArguments, getEnvironment }} from 'wasi:cli/environment@0.2.3'`).
world app {{
    include {world};
    import wasi:cli/environment@0.2.3;
}}
"
    )
}

/// The versions of componentize-js and componentize-py the templates are
/// tested with (scripts/tools.sh installs them).
const COMPONENTIZE_JS: &str = "0.23.0";
const COMPONENTIZE_PY: &str = "0.25.1";

fn readme(kind: &Kind, name: &str, lang: Lang, build: &[String], wasm: &str) -> String {
    let mut text = format!(
        "# {name}\n\nA hookhost `{}` ({}), written in {}.\n\n```sh\n",
        kind.world,
        kind.about,
        match lang {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::Js => "JavaScript",
        }
    );
    for line in build {
        let _ = writeln!(text, "{line}");
    }
    let _ = writeln!(text, "hookhost check --config hookhost.json");
    let (_, fires) = samples(kind);
    for fire in fires {
        let command = format!("hookhost fire --hook {wasm} {}", fire.args);
        let _ = writeln!(
            text,
            "{:<76} # exit {}: {}",
            command.trim_end(),
            fire.exit,
            fire.says
        );
    }
    text.push_str("```\n\n");
    let _ = writeln!(
        text,
        "The build writes `{wasm}`; `hookhost.json` runs it (paths in it are relative to the file). \
Merge its keys into your `sftpgo.json` or hookhost's configuration. `hookhost fire --hook` tries \
the component alone, with the requests SFTPGo sends (`events/`, `--query`), and prints its log lines."
    );
    if lang == Lang::Rust {
        text.push_str("\nThe types and traits: `cargo doc --open -p hookhost-guest`.\n");
    } else {
        text.push_str("\nThe types: `wit/` (hookhost's WIT package).\n");
    }
    text
}

/// Write a new project for `kind` in `dir/name`.
pub fn new(
    kind_name: &str,
    name: &str,
    lang: Lang,
    dir: &Path,
    sdk: Option<PathBuf>,
) -> Result<PathBuf, String> {
    let kind = kind(kind_name)?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(format!(
            "{name:?}: a name is letters, digits, '-' and '_', not starting with a digit"
        ));
    }
    let project = dir.join(name);
    if project.exists() {
        return Err(format!("{} already exists", project.display()));
    }
    let snake_name = snake(name);
    let (build, wasm, limits) = match lang {
        Lang::Rust => (
            vec!["cargo build --release --target wasm32-wasip2   # rustup target add wasm32-wasip2, once".to_owned()],
            format!("target/wasm32-wasip2/release/{snake_name}.wasm"),
            json!({"timeout_ms": 2000, "memory_mib": 16}),
        ),
        Lang::Python => (
            vec![format!(
                "componentize-py -d wit -w {} componentize app -o {snake_name}.wasm   # pip install componentize-py=={COMPONENTIZE_PY}",
                kind.world
            )],
            format!("{snake_name}.wasm"),
            // A fresh interpreter per event: a few ms, not the 2 s of Rust.
            json!({"timeout_ms": 5000}),
        ),
        Lang::Js => (
            vec![
                "npm install     # once: componentize-js, from the npm registry".to_owned(),
                "npm run build".to_owned(),
            ],
            format!("{snake_name}.wasm"),
            json!({"timeout_ms": 5000}),
        ),
    };
    match lang {
        Lang::Rust => {
            let sdk = sdk_path(sdk)?;
            let manifest = format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
# A WebAssembly component, not a Rust library: without cdylib the build\n\
# writes no .wasm.\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n\
# The guest SDK from a hookhost checkout (not on crates.io yet).\n\
hookhost-guest = {{ path = {:?} }}\n\n\
# Small components compile faster in the host and load faster from its cache.\n\
[profile.release]\nopt-level = \"s\"\nlto = true\npanic = \"abort\"\nstrip = \"debuginfo\"\n\n\
# Its own workspace, wherever it lives.\n[workspace]\n",
                sdk.display().to_string()
            );
            write(&project, "Cargo.toml", &manifest)?;
            // The crate versions hookhost's own guests are built and tested
            // with (cargo drops the entries this project does not use).
            write(&project, "Cargo.lock", GUEST_LOCK)?;
            let source = if kind.world == "fs-hook" {
                include_str!("../templates/fs-hook.rs").replace("{{name}}", name)
            } else {
                format!(
                    "//! {name}: a `{}` that {}.\n//!\n//! The types and traits: `cargo doc --open -p hookhost-guest`.\n\n{}\n\nstruct Hook;\n\n{}\n\nhookhost_guest::{}!(Hook);\n",
                    kind.world, kind.about, kind.uses, kind.body, kind.export
                )
            };
            write(&project, "src/lib.rs", &source)?;
            write(&project, ".gitignore", "/target\n")?;
        }
        Lang::Python => {
            write(
                &project,
                "app.py",
                &source(kind.world, lang).replace("{{name}}", name),
            )?;
            for (file, text) in WIT {
                write(&project, &format!("wit/{file}"), text)?;
            }
            write(&project, ".gitignore", "*.wasm\n__pycache__/\nbindings/\n")?;
        }
        Lang::Js => {
            write(
                &project,
                "app.js",
                &source(kind.world, lang).replace("{{name}}", name),
            )?;
            for (file, text) in WIT {
                write(&project, &format!("wit/{file}"), text)?;
            }
            write(&project, "wit/app.wit", &js_world(kind.world))?;
            write(&project, "wit/deps/cli/environment.wit", WASI_ENVIRONMENT)?;
            let package = json!({
                "name": name,
                "private": true,
                "type": "module",
                "scripts": {"build": format!("componentize-js --wit wit --world-name app --out {snake_name}.wasm app.js")},
                "devDependencies": {"@bytecodealliance/componentize-js": COMPONENTIZE_JS},
            });
            write(
                &project,
                "package.json",
                &(serde_json::to_string_pretty(&package).expect("JSON") + "\n"),
            )?;
            write(&project, ".gitignore", "*.wasm\nnode_modules/\n")?;
        }
    }
    let config = config(kind, name, &wasm, limits);
    write(
        &project,
        "hookhost.json",
        &(serde_json::to_string_pretty(&config).expect("JSON") + "\n"),
    )?;
    for (file, text) in samples(kind).0 {
        write(&project, file, &text)?;
    }
    write(
        &project,
        "README.md",
        &readme(kind, name, lang, &build, &wasm),
    )?;
    Ok(project)
}
