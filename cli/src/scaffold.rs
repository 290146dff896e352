//! `hookhost new KIND NAME`: a ready project for a hook or plugin — a
//! manifest with the guest SDK and `cdylib`, a handler, a configuration
//! that runs it, test events where `hookhost fire` can use them, and a
//! README of three commands.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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

/// The configuration entry that runs `wasm` as `kind`.
fn config(kind: &Kind, name: &str, wasm: &str, limits: Value) -> Value {
    let hook = |extra: Value| {
        let mut entry = json!({"name": name, "hook": wasm, "limits": limits});
        entry
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        entry
    };
    let plugin = |kind: &str, extra: Value| {
        let mut entry = json!({"type": kind, "cmd": wasm});
        entry
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"plugins": [entry]})
    };
    match kind.world {
        "fs-hook" => json!({"common": {"actions": {"execute_on": [], "hook": "",
            "execute_sync": ["upload"],
            "hooks": [hook(json!({"execute_on": ["upload"], "grants": {"args": ["10485760"]}}))]}}}),
        "provider-hook" => json!({"data_provider": {"actions": {"execute_on": [], "hook": "",
            "hooks": [hook(json!({"execute_on": ["add", "update", "delete"], "execute_for": ["user"]}))]}}}),
        "keyboard-interactive-hook" => {
            json!({"sftpd": {"keyboard_interactive_authentication": true,
            "keyboard_interactive_auth_hooks": [hook(json!({}))]}})
        }
        "post-connect-hook" | "post-disconnect-hook" | "startup-hook" => {
            let key = kind.world.trim_end_matches("-hook").replace('-', "_");
            json!({"common": {format!("{key}_hooks"): [hook(json!({}))]}})
        }
        world if world.ends_with("-hook") => {
            let key = world.trim_end_matches("-hook").replace('-', "_");
            json!({"data_provider": {format!("{key}_hooks"): [hook(json!({}))]}})
        }
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

/// The events `hookhost fire` can send an fs or provider hook.
fn events(kind: &Kind) -> Vec<(&'static str, Value)> {
    let upload = |size: i64| {
        json!({"action": "upload", "username": "alice", "path": "/srv/sftpgo/data/alice/report.pdf",
            "virtual_path": "/report.pdf", "file_size": size, "fs_provider": 0, "status": 1,
            "protocol": "SFTP", "ip": "192.0.2.10", "session_id": "SFTP_0123", "timestamp": 1_700_000_000_000_000_000i64})
    };
    match kind.world {
        "fs-hook" => vec![
            ("events/upload-small.json", upload(2048)),
            ("events/upload-big.json", upload(50 << 20)),
        ],
        "provider-hook" => vec![(
            "events/user.json",
            json!({"username": "alice", "status": 1, "home_dir": "/srv/sftpgo/data/alice"}),
        )],
        _ => Vec::new(),
    }
}

fn snake(name: &str) -> String {
    name.replace('-', "_")
}

fn readme(kind: &Kind, name: &str, lang: Lang, build: &str, wasm: &str) -> String {
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
    let _ = writeln!(text, "{build}");
    let _ = writeln!(text, "hookhost check --config hookhost.json");
    match kind.world {
        "fs-hook" => {
            let _ = writeln!(
                text,
                "hookhost fire --hook {wasm} --arg 10485760 --event events/upload-small.json   # allowed, exit 0"
            );
            let _ = writeln!(
                text,
                "hookhost fire --hook {wasm} --arg 10485760 --event events/upload-big.json     # denied, exit 1"
            );
        }
        "provider-hook" => {
            let _ = writeln!(
                text,
                "hookhost fire --hook {wasm} --event events/user.json --provider-action add"
            );
        }
        _ => {
            let _ = writeln!(
                text,
                "hookhost serve --config hookhost.json   # then point SFTPGo's hook URL at it"
            );
        }
    }
    text.push_str("```\n\n");
    let _ = writeln!(
        text,
        "The build writes `{wasm}`; `hookhost.json` runs it (paths in it are relative to the file). \
Merge its keys into your `sftpgo.json` or hookhost's configuration. `hookhost fire --hook` tries \
the component alone and prints its log lines."
    );
    if lang == Lang::Rust {
        text.push_str("\nThe types and traits: `cargo doc --open -p hookhost-guest`.\n");
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
    let (build, wasm, limits) = match lang {
        Lang::Rust => (
            "cargo build --release --target wasm32-wasip2   # rustup target add wasm32-wasip2, once".to_owned(),
            format!("target/wasm32-wasip2/release/{}.wasm", snake(name)),
            json!({"timeout_ms": 2000, "memory_mib": 16}),
        ),
        Lang::Python => (
            format!("componentize-py -d wit -w {} componentize app -o {}.wasm   # pip install componentize-py", kind.world, snake(name)),
            format!("{}.wasm", snake(name)),
            // A fresh interpreter per event: a few ms, not the 2 s of Rust.
            json!({"timeout_ms": 5000}),
        ),
        Lang::Js => {
            return Err("JavaScript: not templated yet (not supported yet by `new`); the README's \"Hooks in JavaScript\" and examples/js-deny-exe show how to build one with componentize-js".into());
        }
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
                include_str!("../templates/fs_hook.rs").replace("{{name}}", name)
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
            let source = match kind.world {
                "fs-hook" => include_str!("../templates/fs_hook.py"),
                "provider-hook" => include_str!("../templates/provider_hook.py"),
                other => {
                    return Err(format!(
                        "{other} in Python: not templated yet (fs-hook and provider-hook are); the WIT in wit/ works with componentize-py for every world"
                    ));
                }
            };
            write(&project, "app.py", &source.replace("{{name}}", name))?;
            for (file, text) in WIT {
                write(&project, &format!("wit/{file}"), text)?;
            }
            write(&project, ".gitignore", "*.wasm\n__pycache__/\nbindings/\n")?;
        }
        Lang::Js => unreachable!("refused above"),
    }
    let config = config(kind, name, &wasm, limits);
    write(
        &project,
        "hookhost.json",
        &(serde_json::to_string_pretty(&config).expect("JSON") + "\n"),
    )?;
    for (file, event) in events(kind) {
        write(
            &project,
            file,
            &(serde_json::to_string_pretty(&event).expect("JSON") + "\n"),
        )?;
    }
    write(
        &project,
        "README.md",
        &readme(kind, name, lang, &build, &wasm),
    )?;
    Ok(project)
}
