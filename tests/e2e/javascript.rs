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

use hookhost::event::FsAction;
use hookhost::hook::Answer;
use hookhost_tests::guests::wasm;
use hookhost_tests::{config_with, fs_event, host, repo_root};
use serde_json::json;

/// The JavaScript component, built once per run; `None` when
/// componentize-js is missing and skipping was asked for.
fn js_component() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = repo_root();
            let tool = root.join("target/js/node_modules/.bin/componentize-js");
            if !hookhost_tests::tool_available(
                tool.to_str().unwrap(),
                "npm install --prefix target/js @bytecodealliance/componentize-js@0.23.0",
            ) {
                return None;
            }
            let out = root.join("target/js/deny_exe_js.wasm");
            let status = Command::new(&tool)
                .current_dir(&root)
                .args(["--wit", "wit", "--world-name", "fs-hook", "--out"])
                .arg(&out)
                .arg("examples/js-deny-exe/app.js")
                .status()
                .expect("run componentize-js");
            assert!(status.success(), "componentize-js failed");
            Some(out)
        })
        .clone()
}

#[tokio::test]
async fn javascript_hook_answers_like_the_rust_one() {
    let Some(js) = js_component() else {
        return;
    };
    let both = host(config_with(
        json!([
            {"name": "js", "hook": js, "execute_on": ["pre-upload"]},
            {"name": "rust", "hook": wasm("deny-exe"), "execute_on": ["pre-upload"]},
        ]),
        json!([]),
    ))
    .await;
    for (path, denied) in [
        ("/srv/setup.exe", true),
        ("/srv/SETUP.EXE", true),
        ("/srv/run.bat", true),
        ("/srv/disk.iso", false),
        ("/srv/notes.txt", false),
        ("/srv/.exe", false),
        ("/srv/archive", false),
    ] {
        let outcome = both
            .dispatch(fs_event(FsAction::PreUpload, path))
            .wait_for_all()
            .await;
        let answers: Vec<&Answer> = outcome
            .reports
            .iter()
            .map(|r| r.result.as_ref().expect("no failure"))
            .collect();
        assert_eq!(
            matches!(answers[0], Answer::Deny(_)),
            denied,
            "{path}: {answers:?}"
        );
        if !denied {
            assert_eq!(answers, [&Answer::Allow, &Answer::Allow], "{path}");
        }
    }
    // Same reasons.
    let rust_only = host(config_with(
        json!([{"name": "rust", "hook": wasm("deny-exe"), "execute_on": ["pre-upload"]}]),
        json!([]),
    ))
    .await;
    let from_rust = rust_only
        .dispatch(fs_event(FsAction::PreUpload, "/srv/setup.exe"))
        .wait_for_all()
        .await;
    let from_js = both
        .dispatch(fs_event(FsAction::PreUpload, "/srv/setup.exe"))
        .wait_for_all()
        .await;
    assert_eq!(from_rust.reports[0].result, from_js.reports[0].result);
}
