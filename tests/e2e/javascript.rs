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
