//! The WIT is language-neutral: the pre-upload hook of examples/js-deny-exe,
//! written in JavaScript and built with componentize-js from `wit/`,
//! answers like the Rust deny-exe.
//!
//! Needs componentize-js under target/js (`scripts/tools.sh` installs it
//! with npm): without it the test fails, unless
//! HOOKHOST_ALLOW_MISSING_TOOLS=1 skips it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use hookhost_tests::repo_root;
use serde_json::json;

/// componentize-js, or `None` when it is missing and skipping was asked
/// for.
fn componentize_js() -> Option<PathBuf> {
    let tool = repo_root().join("target/js/node_modules/.bin/componentize-js");
    hookhost_tests::tool_available(
        tool.to_str().unwrap(),
        "npm install --prefix target/js @bytecodealliance/componentize-js@0.23.0",
    )
    .then_some(tool)
}

/// Build the fs-hook module `source` into `out`.
fn build(tool: &std::path::Path, source: &std::path::Path, out: &std::path::Path) {
    let status = Command::new(tool)
        .current_dir(repo_root())
        .args(["--wit", "wit", "--world-name", "fs-hook", "--out"])
        .arg(out)
        .arg(source)
        .status()
        .expect("run componentize-js");
    assert!(
        status.success(),
        "componentize-js failed on {}",
        source.display()
    );
}

/// The JavaScript deny-exe, built once per run.
fn js_component() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let tool = componentize_js()?;
            let out = repo_root().join("target/js/deny_exe_js.wasm");
            build(
                &tool,
                &repo_root().join("examples/js-deny-exe/app.js"),
                &out,
            );
            Some(out)
        })
        .clone()
}

#[tokio::test]
async fn javascript_hook_answers_like_the_rust_one() {
    let Some(js) = js_component() else {
        return;
    };
    hookhost_tests::assert_answers_like_deny_exe(
        &js,
        json!({}),
        &[
            ("/srv/setup.exe", true),
            ("/srv/SETUP.EXE", true),
            ("/srv/run.bat", true),
            ("/srv/disk.iso", false),
            ("/srv/notes.txt", false),
            ("/srv/.exe", false),
            ("/srv/archive", false),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_javascript_webhook_posts_with_fetch_through_the_grant() {
    use hookhost::Decision;
    use hookhost::event::FsAction;
    let Some(tool) = componentize_js() else {
        return;
    };
    let recorder = hookhost_tests::recorder::Recorder::start(&[200], 200).await;
    // The URL is set in the source (a JavaScript hook cannot read its args).
    let dir = tempfile::tempdir().unwrap();
    let source = std::fs::read_to_string(repo_root().join("examples/js-upload-webhook/app.js"))
        .unwrap()
        .replace(
            "https://hooks.example.com/T000/B000",
            &format!("{}/hooks/T000", recorder.url),
        );
    std::fs::write(dir.path().join("app.js"), source).unwrap();
    let wasm = dir.path().join("webhook.wasm");
    build(&tool, &dir.path().join("app.js"), &wasm);
    let hook = |http: serde_json::Value| json!({"name": "js-webhook", "hook": wasm, "execute_on": ["upload"], "grants": {"http": http}});
    let granted = hookhost_tests::host(hookhost_tests::config_with(
        json!([hook(json!([recorder.url]))]),
        json!([]),
    ))
    .await;
    let mut event = hookhost_tests::fs_event(FsAction::Upload, "/srv/alice/q3.pdf");
    event.file_size = 18230;
    let outcome = granted.dispatch(event.clone()).wait_for_all().await;
    assert_eq!(outcome.decision, Decision::Allow);
    let posted = recorder.next().await;
    assert_eq!(posted.uri.path(), "/hooks/T000");
    assert_eq!(
        posted.json(),
        json!({"text": "alice uploaded /srv/alice/q3.pdf (18230 bytes)", "username": "alice",
            "path": "/srv/alice/q3.pdf", "size": 18230})
    );
    // Not granted: nothing is sent and the event fails, and the guest,
    // whose fetch() knows only "NetworkError", says why from
    // `outbound.last-error`. The same every time: the host reads the body
    // the guest still writes before it answers with the refusal.
    let refused = hookhost_tests::host(hookhost_tests::config_with(
        json!([hook(json!([]))]),
        json!([]),
    ))
    .await;
    let origin = recorder.url.trim_end_matches('/');
    for _ in 0..8 {
        let outcome = refused.dispatch(event.clone()).wait_for_all().await;
        assert_eq!(
            outcome.decision,
            Decision::Failed(format!(
                "js-webhook: the webhook is unreachable: POST {origin}/hooks/T000 refused \
                 (not_granted): {origin} is not among the hook's grants.http"
            ))
        );
    }
    assert_eq!(recorder.pending().await, 0);
}
