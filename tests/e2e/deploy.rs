//! Deploying hooks like software: a component pinned by the sha256 of its
//! bytes runs only while the file has them, at load and at reload.

use std::path::{Path, PathBuf};

use hookhost::Decision;
use hookhost::event::FsAction;
use hookhost_tests::guests::wasm;
use hookhost_tests::server::Server;
use hookhost_tests::{
    config_with, fs_event, host, host_error, plugins_config, test_settings, write_config,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha256_of(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

/// `name`'s component copied into `dir` (so a test may change it).
fn copy(dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(format!("{name}.wasm"));
    std::fs::copy(wasm(name), &to).unwrap();
    to
}

fn deny_exe(file: &Path, sha256: &str) -> Value {
    json!({"name": "deny_exe", "hook": file, "sha256": sha256, "execute_on": ["pre-upload"]})
}

/// The decision for a pre-upload of `path`.
async fn pre_upload(config: Value, path: &str) -> Decision {
    let host = host(config).await;
    host.dispatch(fs_event(FsAction::PreUpload, path))
        .await
        .decision
}

#[tokio::test]
async fn a_pinned_component_runs_only_with_the_bytes_it_was_pinned_to() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy(dir.path(), "deny-exe");
    let digest = sha256_of(&file);
    for given in [digest.clone(), digest.to_ascii_uppercase()] {
        let config = config_with(json!([deny_exe(&file, &given)]), json!([]));
        assert!(
            matches!(pre_upload(config, "/a.exe").await, Decision::Deny(_)),
            "pinned to {given}"
        );
    }
    // Another component where the pinned one was: refused, naming the
    // entry, the file and both digests.
    std::fs::copy(wasm("minimal-deny"), &file).unwrap();
    let changed = sha256_of(&file);
    let err = host_error(config_with(json!([deny_exe(&file, &digest)]), json!([]))).await;
    for part in [
        "common.actions.hooks[0].hook",
        &file.display().to_string(),
        &format!("configured {digest}"),
        &format!("file has {changed}"),
    ] {
        assert!(err.contains(part), "{part:?} in {err}");
    }
}

#[tokio::test]
async fn a_pin_on_a_login_hook_or_a_plugin_is_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = "0".repeat(64);
    let file = copy(dir.path(), "pre-login-groups");
    let config = json!({"data_provider": {"pre_login_hooks": [{"hook": file, "sha256": wrong}]},
        "hookhost": test_settings()});
    let err = host_error(config).await;
    assert!(
        err.contains("data_provider.pre_login_hooks[0].hook") && err.contains("sha256 mismatch"),
        "{err}"
    );

    let filter = copy(dir.path(), "ipfilter-cidr");
    let plugin = |pin: Value| {
        let mut entry = json!({"type": "ipfilter", "cmd": filter, "args": ["10.0.0.0/8"]});
        entry
            .as_object_mut()
            .unwrap()
            .extend(pin.as_object().unwrap().clone());
        plugins_config(json!([entry]))
    };
    let right = sha256_of(&filter);
    host(plugin(json!({"sha256": right}))).await;
    let err = host_error(plugin(json!({"sha256": wrong}))).await;
    assert!(
        err.contains("plugins[0]") && err.contains(&format!("file has {right}")),
        "{err}"
    );
    let err = host_error(plugin(json!({"sha256": right, "sha256sum": wrong}))).await;
    assert!(
        err.contains("plugins[0].sha256") && err.contains("is not the sha256sum given beside it"),
        "{err}"
    );
}

#[tokio::test]
async fn a_malformed_pin_or_a_pin_on_a_program_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy(dir.path(), "deny-exe");
    let err = host_error(config_with(json!([deny_exe(&file, "abc")]), json!([]))).await;
    assert!(
        err.contains("common.actions.hooks[0].sha256") && err.contains("not a sha256"),
        "{err}"
    );
    let program =
        json!({"hook": "/bin/true", "sha256": sha256_of(&file), "execute_on": ["upload"]});
    let err = host_error(config_with(json!([program]), json!([]))).await;
    assert!(
        err.contains("common.actions.hooks[0].sha256")
            && err.contains("only wasm hooks take this setting"),
        "{err}"
    );
    // A shadow is a component file or a reference to one.
    for (shadow, says) in [
        (
            "candidate.txt",
            "neither a .wasm component nor an oci:// reference",
        ),
        ("oci://registry.example.com", "no repository"),
    ] {
        let entry = json!({"hook": file, "shadow": shadow, "execute_on": ["pre-upload"]});
        let err = host_error(config_with(json!([entry]), json!([]))).await;
        assert!(
            err.contains("common.actions.hooks[0].shadow") && err.contains(says),
            "{err}"
        );
    }
}

/// `serve`'s status for a pre-upload of `/a.exe`.
async fn exe_upload(server: &Server) -> u16 {
    let body = json!({"action": "pre-upload", "username": "u", "path": "/a.exe",
        "fs_provider": 0, "status": 1, "protocol": "SFTP"});
    server.post("/v1/actions/fs", body.to_string()).await.0
}

#[tokio::test]
async fn a_pinned_component_changed_on_disk_is_refused_at_reload_and_the_running_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy(dir.path(), "deny-exe");
    let config = config_with(json!([deny_exe(&file, &sha256_of(&file))]), json!([]));
    let cfg = write_config(dir.path(), &config);
    let mut server = Server::start(&cfg, &["--no-watch"], &[]).await;
    assert_eq!(exe_upload(&server).await, 403);
    std::fs::copy(wasm("minimal-deny"), &file).unwrap();
    server.signal(libc::SIGHUP);
    let refusal = server.wait_log("configuration reload refused").await;
    assert!(
        refusal.contains("sha256 mismatch") && refusal.contains("common.actions.hooks[0].hook"),
        "{refusal}"
    );
    assert_eq!(
        exe_upload(&server).await,
        403,
        "the running configuration stays"
    );
}

#[test]
fn check_names_every_components_file_digest_and_pin() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy(dir.path(), "deny-exe");
    let filter = copy(dir.path(), "ipfilter-cidr");
    let digest = sha256_of(&file);
    let mut config = config_with(
        json!([deny_exe(&file, &digest), {"hook": file, "execute_on": ["upload"]}]),
        json!([]),
    );
    config["plugins"] = json!([{"type": "ipfilter", "cmd": filter, "args": ["10.0.0.0/8"]}]);
    let cfg = write_config(dir.path(), &config);
    let stdout = hookhost(&["check".as_ref(), "--config".as_ref(), cfg.as_os_str()]);
    for line in [
        format!(
            "common.actions.hooks[0]: {} sha256 {digest} (pinned)",
            file.display()
        ),
        format!(
            "common.actions.hooks[1]: {} sha256 {digest} (not pinned)",
            file.display()
        ),
        format!(
            "plugins[0]: {} sha256 {} (not pinned)",
            filter.display(),
            sha256_of(&filter)
        ),
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line} in\n{stdout}");
    }
}

/// The wasmsign2 CLI (crates.io's `wasmsign2-cli`, installed by
/// scripts/tools.sh under target/tools).
fn wasmsign2() -> Option<PathBuf> {
    let path = hookhost_tests::repo_root().join("target/tools/bin/wasmsign2");
    let found = path.is_file();
    let path_str = path.display().to_string();
    hookhost_tests::tool_available(
        if found { &path_str } else { "wasmsign2" },
        "scripts/tools.sh: cargo install wasmsign2-cli --root target/tools",
    )
    .then_some(if found {
        path
    } else {
        PathBuf::from("wasmsign2")
    })
}

fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(program.as_ref())
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{:?} {args:?}: {text}",
        program.as_ref()
    );
    text
}

fn hookhost(args: &[&std::ffi::OsStr]) -> String {
    run(hookhost_tests::hookhost_bin(), args)
}

/// A configuration trusting `keys`, with deny-exe from `file` (its entry
/// given `extra` keys).
fn trusting(keys: &[&Path], require: bool, file: &Path, extra: Value) -> Value {
    let mut entry = json!({"name": "deny_exe", "hook": file, "execute_on": ["pre-upload"]});
    entry
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let mut config = config_with(json!([entry]), json!([]));
    config["hookhost"]["trust"] = json!({"public_keys": keys, "require_signatures": require});
    config
}

async fn refused(config: Value) -> String {
    host_error(config).await
}

#[tokio::test]
async fn signatures_by_hookhost_sign_and_wasmsign2_verify_each_way_and_bad_ones_are_refused() {
    let Some(wasmsign2) = wasmsign2() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let os = |p: &Path| p.as_os_str().to_owned();
    // Keys: one made by hookhost, one by wasmsign2, one by ssh-keygen.
    let ours = d.join("ours.key");
    hookhost(&[
        "sign".as_ref(),
        "--new-key".as_ref(),
        "--key".as_ref(),
        &os(&ours),
    ]);
    let ours_pub = d.join("ours.pub");
    let theirs = d.join("theirs.key");
    let theirs_pub = d.join("theirs.pub");
    run(
        &wasmsign2,
        &[
            "keygen".as_ref(),
            "--secret-key".as_ref(),
            &os(&theirs),
            "--public-key".as_ref(),
            &os(&theirs_pub),
        ],
    );

    // Signed by `hookhost sign`, verified by wasmsign2 and by hookhost.
    let by_us = copy(d, "deny-exe");
    let signed = d.join("by_us.wasm");
    let said = hookhost(&[
        "sign".as_ref(),
        "--key".as_ref(),
        &os(&ours),
        "--out".as_ref(),
        &os(&signed),
        &os(&by_us),
    ]);
    assert!(
        said.contains(&format!("sha256 {}", sha256_of(&signed))),
        "{said}"
    );
    wasmsign2_verifies(&wasmsign2, &ours_pub, &signed, None);
    let config = trusting(&[&ours_pub, &theirs_pub], true, &signed, json!({}));
    assert!(matches!(
        pre_upload(config, "/a.exe").await,
        Decision::Deny(_)
    ));

    // Signed by wasmsign2 (embedded and detached), verified by hookhost.
    let by_them = d.join("by_them.wasm");
    wasmsign2_signs(&wasmsign2, &theirs, &copy(d, "deny-exe"), &by_them, None);
    let config = trusting(&[&theirs_pub], true, &by_them, json!({}));
    assert!(matches!(
        pre_upload(config, "/a.exe").await,
        Decision::Deny(_)
    ));
    let detached = d.join("detached.wasm");
    std::fs::copy(wasm("deny-exe"), &detached).unwrap();
    wasmsign2_signs(
        &wasmsign2,
        &theirs,
        &detached,
        &d.join("ignored.wasm"),
        Some(&d.join("detached.wasm.sig")),
    );
    let config = trusting(&[&theirs_pub], true, &detached, json!({}));
    assert!(matches!(
        pre_upload(config, "/a.exe").await,
        Decision::Deny(_)
    ));
    // hookhost's detached signature, verified by wasmsign2.
    let ours_detached = copy(d, "deny-exe");
    hookhost(&[
        "sign".as_ref(),
        "--detached".as_ref(),
        "--key".as_ref(),
        &os(&ours),
        &os(&ours_detached),
    ]);
    wasmsign2_verifies(
        &wasmsign2,
        &ours_pub,
        &ours_detached,
        Some(&signature_file(&ours_detached)),
    );

    // Unsigned, with signatures required: refused naming the entry.
    let unsigned = copy(d, "ipfilter-cidr");
    std::fs::copy(wasm("deny-exe"), &unsigned).unwrap();
    let err = refused(trusting(&[&ours_pub], true, &unsigned, json!({}))).await;
    assert!(
        err.contains("common.actions.hooks[0].hook") && err.contains("is not signed"),
        "{err}"
    );
    // ... and taken when they are not required.
    let config = trusting(&[&ours_pub], false, &unsigned, json!({}));
    assert!(matches!(
        pre_upload(config, "/a.exe").await,
        Decision::Deny(_)
    ));
    // The wrong key: refused even when signatures are not required.
    let err = refused(trusting(&[&ours_pub], false, &by_them, json!({}))).await;
    assert!(
        err.contains("common.actions.hooks[0].hook") && err.contains("does not verify with"),
        "{err}"
    );
    // `signed_by` narrows the trusted keys to the entry's.
    let err = refused(trusting(
        &[&ours_pub, &theirs_pub],
        true,
        &by_them,
        json!({"signed_by": [ours_pub]}),
    ))
    .await;
    assert!(err.contains("does not verify with"), "{err}");
    let err = refused(trusting(
        &[&ours_pub],
        true,
        &by_them,
        json!({"signed_by": [theirs_pub]}),
    ))
    .await;
    assert!(
        err.contains("common.actions.hooks[0].signed_by[0]")
            && err.contains("is not one of hookhost.trust.public_keys"),
        "{err}"
    );
    // One flipped byte in a signed component.
    let mut bytes = std::fs::read(&signed).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let flipped = d.join("flipped.wasm");
    std::fs::write(&flipped, bytes).unwrap();
    let err = refused(trusting(&[&ours_pub], true, &flipped, json!({}))).await;
    assert!(
        err.contains("common.actions.hooks[0].hook") && err.contains("does not verify with"),
        "{err}"
    );
}

/// `wasmsign2 sign` signs `file` with `secret` into `out` (or, with
/// `sig`, into that detached signature file).
fn wasmsign2_signs(wasmsign2: &Path, secret: &Path, file: &Path, out: &Path, sig: Option<&Path>) {
    let mut args = vec![
        "sign".as_ref(),
        "--secret-key".as_ref(),
        secret.as_os_str(),
        "--input-file".as_ref(),
        file.as_os_str(),
        "--output-file".as_ref(),
        out.as_os_str(),
    ];
    if let Some(sig) = sig {
        args.extend(["--signature-file".as_ref(), sig.as_os_str()]);
    }
    run(wasmsign2, &args);
}

/// `wasmsign2 verify` accepts `file`'s signature (embedded, or `sig`) by
/// `public`.
fn wasmsign2_verifies(wasmsign2: &Path, public: &Path, file: &Path, sig: Option<&Path>) {
    let mut args = vec![
        "verify".as_ref(),
        "--public-key".as_ref(),
        public.as_os_str(),
        "--input-file".as_ref(),
        file.as_os_str(),
    ];
    if let Some(sig) = sig {
        args.extend(["--signature-file".as_ref(), sig.as_os_str()]);
    }
    run(wasmsign2, &args);
}

/// `FILE.sig`.
fn signature_file(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

#[tokio::test]
async fn an_openssh_key_signs_and_verifies_and_check_names_the_signer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = d.join("id_ed25519");
    run(
        "ssh-keygen",
        &[
            "-q".as_ref(),
            "-t".as_ref(),
            "ed25519".as_ref(),
            "-N".as_ref(),
            "".as_ref(),
            "-f".as_ref(),
            key.as_os_str(),
        ],
    );
    let public = d.join("id_ed25519.pub");
    let file = copy(d, "deny-exe");
    hookhost(&[
        "sign".as_ref(),
        "--key".as_ref(),
        key.as_os_str(),
        file.as_os_str(),
    ]);
    let config = trusting(&[&public], true, &file, json!({"sha256": sha256_of(&file)}));
    let cfg = write_config(d, &config);
    let out = hookhost(&["check".as_ref(), "--config".as_ref(), cfg.as_os_str()]);
    let line = format!(
        "common.actions.hooks[0]: {} sha256 {} (pinned, signed by {})",
        file.display(),
        sha256_of(&file),
        public.display()
    );
    assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
}

/// deny-exe refusing `.{arg}` files, shadowed by the probe in mode `arg`
/// (the same grants: the probe reads its mode where deny-exe reads its
/// extensions).
fn shadowed(arg: &str, limits: Value) -> Value {
    json!({"name": "guard", "hook": wasm("deny-exe"), "shadow": wasm("probe"),
        "execute_on": ["pre-upload"], "grants": {"args": [arg]}, "limits": limits})
}

fn metric(metrics: &str, name: &str) -> Option<u64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}{{hook=\"guard\"}} ")))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn a_shadow_never_changes_an_answer_and_its_disagreements_are_counted_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &config_with(json!([shadowed("deny", json!({}))]), json!([])),
    );
    let mut server = Server::start(
        &cfg,
        &["--no-watch"],
        &[("HOOKHOST_LOG", "info,hookhost::hook::shadow=debug")],
    )
    .await;
    let upload = |path: &str| {
        json!({"action": "pre-upload", "username": "u", "path": path,
            "fs_provider": 0, "status": 1, "protocol": "SFTP"})
        .to_string()
    };
    // The probe says no to everything: on /a.deny both refuse (agreed); on
    // /a.txt the hook allows and the candidate refuses.
    assert_eq!(
        server.post("/v1/actions/fs", upload("/a.deny")).await.0,
        403
    );
    assert_eq!(
        server.post("/v1/actions/fs", upload("/a.txt")).await.0,
        200,
        "the shadow does not decide"
    );
    // Each run says so (debug) once it is counted; the disagreement is
    // logged before it.
    let (mut ran, mut disagreements) = (0, Vec::new());
    while ran < 2 {
        let line = server.wait_log("shadow ").await;
        if line.contains("shadow ran") {
            ran += 1;
        } else if line.contains("shadow disagrees") {
            disagreements.push(line);
        }
    }
    let [line] = disagreements.as_slice() else {
        panic!("one disagreement: {disagreements:?}")
    };
    let line: Value = serde_json::from_str(line).unwrap();
    let fields = &line["fields"];
    assert_eq!(
        (&fields["hook"], &fields["primary"], &fields["shadow"]),
        (
            &json!("guard"),
            &json!("allow"),
            &json!("deny: probe says no")
        ),
        "{line}"
    );
    let event: Value = serde_json::from_str(fields["event"].as_str().unwrap()).unwrap();
    assert_eq!(
        event["path"], "/a.txt",
        "the event as fire takes it: {line}"
    );
    let (_, metrics) = server.get("/metrics").await;
    assert_eq!(metric(&metrics, "hookhost_shadow_runs_total"), Some(2));
    assert_eq!(
        metric(&metrics, "hookhost_shadow_disagreements_total"),
        Some(1)
    );
    assert_eq!(metric(&metrics, "hookhost_shadow_dropped_total"), Some(0));
}

#[tokio::test]
async fn a_slow_shadow_delays_no_answer_and_is_skipped_when_its_places_are_busy() {
    // The candidate spins until its deadline (3 s); the hook answers at once.
    let mut config = config_with(
        json!([shadowed("loop", json!({"timeout_ms": 3_000}))]),
        json!([]),
    );
    config["hookhost"]["wasm"]["max_shadow_instances_per_hook"] = json!(2);
    let host = host(config).await;
    for n in 0..5 {
        let outcome = host
            .dispatch(fs_event(FsAction::PreUpload, &format!("/{n}.txt")))
            .await;
        assert_eq!(outcome.decision, Decision::Allow);
    }
    let metrics = host.metrics().encode();
    assert_eq!(
        metric(&metrics, "hookhost_shadow_runs_total"),
        Some(0),
        "every answer came while the shadows still ran:\n{metrics}"
    );
    assert_eq!(
        metric(&metrics, "hookhost_shadow_dropped_total"),
        Some(3),
        "two places, five events"
    );
}

#[test]
fn replay_prints_each_disagreement_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let line = |action: &str, path: &str| {
        json!({"action": action, "username": "u", "path": path, "fs_provider": 0,
            "status": 1, "protocol": "SFTP"})
        .to_string()
    };
    std::fs::write(
        &events,
        [
            line("pre-upload", "/a.txt"),
            line("pre-upload", "/a.deny"),
            String::new(),
            line("upload", "/b.iso"),
        ]
        .join("\n"),
    )
    .unwrap();
    let replay = |against: Option<&Path>| {
        let mut command = std::process::Command::new(hookhost_tests::hookhost_bin());
        command
            .args(["replay", "--arg", "deny", "--events"])
            .arg(&events)
            .arg("--hook")
            .arg(wasm("deny-exe"));
        if let Some(against) = against {
            command.arg("--against").arg(against);
        }
        let out = command.output().unwrap();
        let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (out.status.code(), lines)
    };
    let (code, lines) = replay(None);
    assert_eq!(code, Some(0));
    assert_eq!(
        lines,
        [json!({"events": 3, "hook": {"allow": 2, "deny": 1, "handled": 0, "failed": 0}})]
    );
    // The probe refuses everything: it disagrees where deny-exe allows.
    let (code, lines) = replay(Some(&wasm("probe")));
    assert_eq!(code, Some(1), "{lines:?}");
    let disagreed: Vec<(&Value, &Value, &Value)> = lines[..2]
        .iter()
        .map(|l| (&l["line"], &l["hook"], &l["against"]))
        .collect();
    assert_eq!(
        disagreed,
        [
            (
                &json!(1),
                &json!("allow"),
                &json!({"deny": "probe: probe says no"})
            ),
            (
                &json!(4),
                &json!("allow"),
                &json!({"failed": "probe: probe says no"})
            ),
        ]
    );
    assert_eq!(lines[0]["event"]["path"], "/a.txt");
    assert_eq!(
        lines[2],
        json!({"events": 3, "hook": {"allow": 2, "deny": 1, "handled": 0, "failed": 0},
            "against": {"allow": 0, "deny": 2, "handled": 0, "failed": 1}, "disagreements": 2})
    );
}

/// `oras push` (Python's `oras`, an independent client) of `file` as a
/// wasm artifact, or with `layer_type` as its layer's media type.
fn oras_push(target: &str, file: &Path, layer_type: &str) -> bool {
    if !hookhost_tests::python_modules_available("oras.client", "pip install oras") {
        return false;
    }
    let dir = file.parent().unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"architecture":"wasm","os":"wasip2","layerDigests":[],"created":"2026-12-07T00:00:00Z"}"#,
    )
    .unwrap();
    let script = format!(
        "import oras.client\n\
         oras.client.OrasClient(insecure=True).push(target={target:?}, \
         files=[{:?}], manifest_config='config.json:application/vnd.wasm.config.v0+json')",
        format!(
            "{}:{layer_type}",
            file.file_name().unwrap().to_string_lossy()
        )
    );
    run_in(dir, "python3", &["-c".as_ref(), script.as_ref()]);
    true
}

fn run_in(dir: &Path, program: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// A configuration running `reference` on pre-upload, the registry at
/// `host` over plain HTTP, the cache in `cache`.
fn from_registry(reference: &str, host: &str, cache: &Path) -> Value {
    let mut config = config_with(
        json!([{"hook": reference, "execute_on": ["pre-upload"]}]),
        json!([]),
    );
    config["hookhost"]["registries"] = json!({host: {"insecure": true}});
    config["hookhost"]["cache_dir"] = json!(cache);
    config
}

#[tokio::test]
async fn components_pushed_by_oras_and_by_hookhost_are_pulled_run_and_read_back() {
    let Some(registry) = hookhost_tests::registry::Registry::start().await else {
        return;
    };
    if !hookhost_tests::tool_available("skopeo", "apt-get install skopeo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let host_port = &registry.host;
    // Pushed by oras: pulled and run by hookhost.
    let file = copy(dir.path(), "deny-exe");
    if !oras_push(
        &format!("{host_port}/hooks/by-oras:v1"),
        &file,
        "application/wasm",
    ) {
        return;
    }
    let reference = format!("oci://{host_port}/hooks/by-oras:v1");
    let host = host(from_registry(&reference, host_port, &cache)).await;
    let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/a.exe")).await;
    assert!(matches!(outcome.decision, Decision::Deny(_)));
    let [resolved] = host.resolved() else {
        panic!("{:?}", host.resolved())
    };
    assert_eq!(
        (
            resolved.field.as_str(),
            resolved.reference.as_str(),
            resolved.source.as_str()
        ),
        (
            "common.actions.hooks[0].hook",
            reference.as_str(),
            "the registry"
        )
    );
    // Pushed by hookhost: skopeo reads both media types back, and the
    // digest hookhost prints is the manifest's.
    let pushed = hookhost(&[
        "push".as_ref(),
        "--insecure".as_ref(),
        file.as_os_str(),
        format!("oci://{host_port}/hooks/by-hookhost:v1").as_ref(),
    ]);
    let raw = run_in(
        dir.path(),
        "skopeo",
        &[
            "inspect".as_ref(),
            "--raw".as_ref(),
            "--tls-verify=false".as_ref(),
            format!("docker://{host_port}/hooks/by-hookhost:v1").as_ref(),
        ],
    );
    let manifest: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        (
            &manifest["config"]["mediaType"],
            &manifest["layers"][0]["mediaType"],
            &manifest["layers"][0]["digest"]
        ),
        (
            &json!("application/vnd.wasm.config.v0+json"),
            &json!("application/wasm"),
            &json!(format!("sha256:{}", sha256_of(&file)))
        ),
        "{raw}"
    );
    assert_eq!(
        pushed.trim(),
        format!("sha256:{:x}", Sha256::digest(raw.as_bytes())),
        "push prints the manifest's digest"
    );
    // A plugin's `cmd` takes a reference too.
    let filter = copy(dir.path(), "ipfilter-cidr");
    let filter_ref = format!("oci://{host_port}/plugins/ipfilter:v1");
    hookhost(&[
        "push".as_ref(),
        "--insecure".as_ref(),
        filter.as_os_str(),
        filter_ref.as_ref(),
    ]);
    let mut config = from_registry(&reference, host_port, &cache);
    config["plugins"] = json!([{"type": "ipfilter", "cmd": filter_ref, "args": ["10.0.0.0/8"]}]);
    let with_plugin = hookhost_tests::host(config).await;
    assert_eq!(
        with_plugin.plugins().check_ip("10.1.2.3", "SSH").await,
        Ok(())
    );
    assert!(
        with_plugin
            .plugins()
            .check_ip("11.0.0.1", "SSH")
            .await
            .is_err()
    );
    assert_eq!(
        with_plugin.resolved()[0].field,
        "plugins[0].cmd",
        "{:?}",
        with_plugin.resolved()
    );
    let pulled = hookhost(&[
        "pull".as_ref(),
        "--insecure".as_ref(),
        format!("oci://{host_port}/hooks/by-hookhost@{}", pushed.trim()).as_ref(),
    ]);
    assert_eq!(pulled.lines().next(), Some(pushed.trim()));
}

#[tokio::test]
async fn with_the_registry_down_a_restart_starts_from_the_cache_and_says_so() {
    let Some(mut registry) = hookhost_tests::registry::Registry::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let host_port = registry.host.clone();
    let file = copy(dir.path(), "deny-exe");
    let tag = format!("oci://{host_port}/hooks/guard:v1");
    let digest = hookhost(&[
        "push".as_ref(),
        "--insecure".as_ref(),
        file.as_os_str(),
        tag.as_ref(),
    ]);
    let pinned = format!("oci://{host_port}/hooks/guard@{}", digest.trim());
    host(from_registry(&tag, &host_port, &cache)).await;
    registry.stop().await;
    for (reference, source) in [
        (
            &tag,
            "the cache, as resolved before (the registry is unreachable)",
        ),
        (&pinned, "the cache, pinned by digest"),
    ] {
        let host = host(from_registry(reference, &host_port, &cache)).await;
        let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/a.exe")).await;
        assert!(matches!(outcome.decision, Decision::Deny(_)), "{reference}");
        assert_eq!(
            (
                host.resolved()[0].source.as_str(),
                host.resolved()[0].digest.as_str()
            ),
            (source, digest.trim())
        );
    }
    // serve says which digest is in force, and from where.
    let cfg = write_config(dir.path(), &from_registry(&tag, &host_port, &cache));
    let server = Server::start(&cfg, &["--no-watch"], &[]).await;
    let (_, health) = server.get("/healthz").await;
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(
        health["components"],
        json!([{"entry": "common.actions.hooks[0].hook", "reference": tag,
            "digest": digest.trim(),
            "from": "the cache, as resolved before (the registry is unreachable)"}])
    );
    let never = format!("oci://{host_port}/hooks/guard:v2");
    let err = host_error(from_registry(&never, &host_port, &cache)).await;
    assert!(
        err.contains("common.actions.hooks[0].hook")
            && err.contains("cannot be reached")
            && err.contains("never resolved here"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_references_are_refused_naming_the_entry() {
    let Some(registry) = hookhost_tests::registry::Registry::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let host_port = &registry.host;
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a component").unwrap();
    if !oras_push(&format!("{host_port}/hooks/notes:v1"), &text, "text/plain") {
        return;
    }
    for (reference, says) in [
        (format!("oci://{host_port}"), "no repository"),
        (format!("oci://{host_port}/hooks/guard"), "name a tag"),
        (format!("oci://{host_port}/hooks/missing:v1"), "not found"),
        (
            format!("oci://{host_port}/hooks/notes:v1"),
            "not a wasm artifact: its layer's media type is \"text/plain\"",
        ),
        (
            "oci://registry.invalid/hooks/guard:v1".to_owned(),
            "never resolved here",
        ),
    ] {
        let err = host_error(from_registry(&reference, host_port, &cache)).await;
        assert!(
            err.contains("common.actions.hooks[0].hook") && err.contains(says),
            "{reference}: {err}"
        );
    }
}

#[tokio::test]
async fn a_node_records_what_it_sees_for_replay_rotated_and_capped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seen.jsonl");
    let mut config = config_with(
        json!([{"name": "guard", "hook": wasm("deny-exe"), "execute_on": ["pre-upload"]}]),
        json!([]),
    );
    config["hookhost"]["record"] = json!({"file": file, "max_mib": 1});
    let host = host(config).await;
    for path in ["/a.exe", "/b.txt", "/c.txt"] {
        host.dispatch(fs_event(FsAction::PreUpload, path)).await;
    }
    host.shutdown().await;
    let recorded = std::fs::read_to_string(&file).unwrap();
    let paths: Vec<String> = recorded
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["path"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(paths, ["/a.exe", "/b.txt", "/c.txt"]);
    // What was recorded replays as it ran.
    let summary = hookhost(&[
        "replay".as_ref(),
        "--events".as_ref(),
        file.as_os_str(),
        "--hook".as_ref(),
        wasm("deny-exe").as_os_str(),
    ]);
    let summary = summary.lines().find(|l| l.starts_with(r#"{"events""#));
    let summary: Value = serde_json::from_str(summary.unwrap()).unwrap();
    assert_eq!(
        summary["hook"],
        json!({"allow": 2, "deny": 1, "handled": 0, "failed": 0})
    );

    // Past half of max_mib the file moves to FILE.1; the two stay within it.
    std::fs::remove_file(&file).unwrap();
    let mut config = config_with(json!([]), json!([]));
    config["hookhost"]["record"] = json!({"file": file, "max_mib": 1});
    let busy = hookhost_tests::host(config).await;
    let events = 4000;
    for n in 0..events {
        // ~200 bytes a line: 4000 lines pass half a MiB once, not twice.
        let path = format!("/dir/{n:05}/{}.txt", "x".repeat(80));
        busy.dispatch(fs_event(FsAction::PreUpload, &path)).await;
    }
    busy.shutdown().await;
    let rotated = dir.path().join("seen.jsonl.1");
    let (old, new) = (
        std::fs::read_to_string(&rotated).unwrap(),
        std::fs::read_to_string(&file).unwrap(),
    );
    assert!(old.len() <= 512 << 10 && new.len() <= 512 << 10);
    let number = |line: Option<&str>| -> usize {
        let event: Value = serde_json::from_str(line.unwrap()).unwrap();
        event["path"].as_str().unwrap()[5..10].parse().unwrap()
    };
    assert_eq!(
        (number(old.lines().last()) + 1, number(new.lines().last())),
        (number(new.lines().next()), events - 1),
        "the newer file goes on where the older one stops, to the last event"
    );
    let metrics = busy.metrics().encode();
    assert!(
        metrics.contains("hookhost_record_dropped_total 0\n")
            && metrics.contains(&format!("hookhost_record_written_total {events}\n")),
        "{metrics}"
    );
}

#[test]
fn version_names_the_release_and_the_commit() {
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(hookhost_tests::repo_root())
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let version = hookhost(&["--version".as_ref()]);
    assert_eq!(
        version.trim(),
        format!("hookhost 0.1.0 ({head})"),
        "cli/Cargo.toml's version and the commit built"
    );
}

#[tokio::test]
async fn a_private_registry_is_read_with_configured_or_docker_credentials_also_for_a_shadow() {
    use hookhost_tests::registry::{PASSWORD, Registry, USER};
    let Some(registry) = Registry::start_private().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cache = d.join("cache");
    let host_port = &registry.host;
    let file = copy(d, "deny-exe");
    let tag = format!("oci://{host_port}/hooks/private:v1");
    let hookhost_with = |args: &[&std::ffi::OsStr], env: &[(&str, &Path)]| {
        std::process::Command::new(hookhost_tests::hookhost_bin())
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    // No credentials: refused, and the reason says so.
    let anonymous = hookhost_with(
        &[
            "push".as_ref(),
            "--insecure".as_ref(),
            file.as_os_str(),
            tag.as_ref(),
        ],
        &[("HOME", d)],
    );
    let said = String::from_utf8_lossy(&anonymous.stderr);
    assert!(!anonymous.status.success(), "{said}");
    assert!(
        said.contains("the registry refused access") && said.contains("with no credentials"),
        "{said}"
    );

    // hookhost.registries' username and password file: pushed, then
    // pulled and run by a host.
    let password = d.join("registry-password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let with_credentials = |reference: &str| {
        let mut config = from_registry(reference, host_port, &cache);
        config["hookhost"]["registries"][host_port.as_str()] =
            json!({"insecure": true, "username": USER, "password_file": password});
        config
    };
    let cfg = write_config(d, &with_credentials(&tag));
    let digest = hookhost(&[
        "push".as_ref(),
        "--config".as_ref(),
        cfg.as_os_str(),
        file.as_os_str(),
        tag.as_ref(),
    ]);
    let host = host(with_credentials(&tag)).await;
    let outcome = host.dispatch(fs_event(FsAction::PreUpload, "/a.exe")).await;
    assert!(matches!(outcome.decision, Decision::Deny(_)));
    assert_eq!(host.resolved()[0].digest, digest.trim());
    host.shutdown().await;

    // Docker's config.json credentials, as oras and skopeo read them.
    use base64::Engine;
    let docker = d.join("docker");
    std::fs::create_dir(&docker).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    std::fs::write(
        docker.join("config.json"),
        json!({"auths": {host_port.as_str(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let pulled = hookhost_with(
        &["pull".as_ref(), "--insecure".as_ref(), tag.as_ref()],
        &[("HOME", d), ("DOCKER_CONFIG", &docker)],
    );
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&pulled.stdout), digest);

    // A wrong password refuses the configuration, naming the entry.
    std::fs::write(&password, "not-the-password\n").unwrap();
    let err = host_error(with_credentials(&format!(
        "oci://{host_port}/hooks/private:v2"
    )))
    .await;
    assert!(
        err.contains("common.actions.hooks[0].hook")
            && err.contains("the registry refused access")
            && err.contains("hookhost.registries"),
        "{err}"
    );
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();

    // A shadow from the registry: resolved like a hook, and run.
    let mut config = with_credentials(&tag);
    config["common"]["actions"]["hooks"] = json!([{"name": "guard",
        "hook": wasm("deny-exe"), "shadow": tag, "execute_on": ["pre-upload"]}]);
    let cfg = write_config(d, &config);
    let mut server = Server::start(
        &cfg,
        &["--no-watch"],
        &[("HOOKHOST_LOG", "info,hookhost::hook::shadow=debug")],
    )
    .await;
    let upload = json!({"action": "pre-upload", "username": "u", "path": "/a.txt",
        "fs_provider": 0, "status": 1, "protocol": "SFTP"});
    assert_eq!(
        server.post("/v1/actions/fs", upload.to_string()).await.0,
        200
    );
    server.wait_log("shadow ran").await;
    let (_, health) = server.get("/healthz").await;
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(
        health["components"],
        json!([{"entry": "common.actions.hooks[0].shadow", "reference": tag,
            "digest": digest.trim(), "from": "the registry"}])
    );
    let (_, metrics) = server.get("/metrics").await;
    assert_eq!(metric(&metrics, "hookhost_shadow_runs_total"), Some(1));
    assert_eq!(
        metric(&metrics, "hookhost_shadow_disagreements_total"),
        Some(0)
    );
}

#[tokio::test]
async fn provider_login_and_connection_requests_are_recorded_as_fire_takes_them_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("seen.jsonl");
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    let mut config = config_with(json!([]), json!([]));
    config["hookhost"]["record"] = json!({"file": file, "max_mib": 1});
    let cfg = write_config(d, &config);
    let server = Server::start(&cfg, &["--no-watch"], &[]).await;
    let user = |name: &str| {
        json!({"id": 0, "username": name, "password": "$2a$10$secrethash", "status": 1,
            "home_dir": format!("/srv/{name}"), "permissions": {"/": ["*"]}})
        .to_string()
    };
    let provider = "/v1/actions/provider?action=add&username=admin&ip=192.0.2.1&object_type=user&object_name=alice&timestamp=1733000000000000000";
    assert_eq!(server.post(provider, user("alice")).await.0, 200);
    let pre_login = "/v1/pre-login?login_method=password&ip=192.0.2.7&protocol=SSH";
    server.post(pre_login, user("bob")).await;
    server.post(pre_login, user("deny")).await;
    server
        .get("/v1/post-connect?ip=10.0.0.5&protocol=SSH")
        .await;
    server
        .get("/v1/post-connect?ip=192.0.2.9&protocol=SSH")
        .await;
    // Credentials are never recorded.
    server
        .post(
            "/v1/auth/check-password",
            json!({"username": "bob", "password": "hunter2", "ip": "192.0.2.7", "protocol": "SSH"})
                .to_string(),
        )
        .await;
    let upload = json!({"action": "pre-upload", "username": "u", "path": "/a.txt",
        "fs_provider": 0, "status": 1, "protocol": "SFTP"});
    server.post("/v1/actions/fs", upload.to_string()).await;
    // The writer flushes whenever it has caught up: every line is on disk
    // soon after its answer (bounded wait, polled).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let recorded = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.lines().count() >= 6 || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    drop(server);
    assert_eq!(recorded.lines().count(), 6, "{recorded}");
    assert!(
        !recorded.contains("hunter2") && !recorded.contains("secrethash"),
        "{recorded}"
    );
    let lines: Vec<Value> = recorded
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        (
            &lines[0]["call"],
            &lines[0]["query"],
            &lines[0]["event"]["username"]
        ),
        (
            &json!("provider"),
            &json!(
                "action=add&ip=192.0.2.1&object_name=alice&object_type=user&timestamp=1733000000000000000&username=admin"
            ),
            &json!("alice")
        )
    );
    assert_eq!(
        (
            &lines[1]["call"],
            &lines[1]["query"],
            &lines[1]["event"]["home_dir"]
        ),
        (
            &json!("pre-login"),
            &json!("ip=192.0.2.7&login_method=password&protocol=SSH"),
            &json!("/srv/bob")
        )
    );
    assert_eq!(
        (&lines[3]["call"], &lines[3]["query"], &lines[3]["event"]),
        (
            &json!("post-connect"),
            &json!("ip=10.0.0.5&protocol=SSH"),
            &Value::Null
        )
    );
    assert_eq!(lines[5]["path"], "/a.txt", "an fs event is its body");

    // Replayed: each component runs the lines of its worlds; the others
    // are skipped.
    let replay = |hook: &str, against: Option<&str>| {
        let mut command = std::process::Command::new(hookhost_tests::hookhost_bin());
        command
            .arg("replay")
            .arg("--events")
            .arg(&file)
            .arg("--grant-dir")
            .arg(format!("{}:/out:rw", out.display()))
            .arg("--hook")
            .arg(wasm(hook));
        if let Some(against) = against {
            command.arg("--against").arg(wasm(against));
        }
        let output = command.output().unwrap();
        let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (output.status.code(), lines)
    };
    // login-probe: bob's home rewritten, `deny` refused; 10.* connects.
    let (code, lines) = replay("login-probe", None);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(
        lines,
        [json!({"events": 4, "skipped": 2,
            "hook": {"allow": 1, "deny": 2, "handled": 0, "failed": 0, "user": 1}})]
    );
    let pre_logins = std::fs::read_to_string(out.join("pre_login.jsonl")).unwrap();
    assert!(
        pre_logins.contains(r#"\"username\":\"bob\""#),
        "{pre_logins}"
    );
    // provider-echo writes what it got; a component answering no provider
    // call disagrees on it.
    let (code, lines) = replay("provider-echo", Some("login-probe"));
    assert_eq!(code, Some(1), "{lines:?}");
    assert_eq!(
        (
            &lines[0]["line"],
            &lines[0]["hook"],
            &lines[0]["against"]["not_answered"]
        ),
        (
            &json!(1),
            &json!("allow"),
            &json!("the component answers no provider call")
        )
    );
    let echoed = std::fs::read_to_string(out.join("provider.log")).unwrap();
    assert!(echoed.starts_with("add user alice "), "{echoed}");
}
