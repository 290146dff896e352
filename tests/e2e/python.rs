//! The WIT is language-neutral: a pre-upload hook written in Python, built
//! with componentize-py from `wit/`, answers like the Rust deny-exe.
//!
//! Needs componentize-py (`scripts/tools.sh` installs it with pip): without
//! it the test fails, unless HOOKHOST_ALLOW_MISSING_TOOLS=1 skips it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

use hookhost_tests::repo_root;
use serde_json::json;

fn newest_input(root: &Path) -> SystemTime {
    let mut inputs = vec![root.join("examples/python-deny-exe/app.py")];
    inputs.extend(
        std::fs::read_dir(root.join("wit"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
        .unwrap()
}

/// The Python component, built when missing or older than its sources;
/// `None` when componentize-py is not installed.
fn python_component() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if !hookhost_tests::tool_available(
                "componentize-py",
                "pip install componentize-py==0.25.1",
            ) {
                return None;
            }
            let root = repo_root();
            let out = root.join("target/python/deny_exe_py.wasm");
            let fresh = std::fs::metadata(&out)
                .and_then(|m| m.modified())
                .is_ok_and(|built| built >= newest_input(&root));
            if !fresh {
                std::fs::create_dir_all(out.parent().unwrap()).unwrap();
                let status = Command::new("componentize-py")
                    .current_dir(&root)
                    // No __pycache__ left in the source tree.
                    .env("PYTHONDONTWRITEBYTECODE", "1")
                    .args([
                        "-d",
                        "wit",
                        "-w",
                        "fs-hook",
                        "componentize",
                        "--python-path",
                        "examples/python-deny-exe",
                        "app",
                        "-o",
                    ])
                    .arg(&out)
                    .status()
                    .expect("run componentize-py");
                assert!(status.success(), "componentize-py failed");
            }
            Some(out)
        })
        .clone()
}

#[tokio::test]
async fn python_hook_answers_like_the_rust_one() {
    let Some(python) = python_component() else {
        return;
    };
    hookhost_tests::assert_answers_like_deny_exe(
        &python,
        json!({"args": ["exe", "iso"], "env": {"DENY_EXTENSIONS": "bat"}}),
        &[
            ("/srv/setup.exe", true),
            ("/srv/SETUP.EXE", true),
            ("/srv/disk.iso", true),
            ("/srv/run.bat", true),
            ("/srv/notes.txt", false),
            ("/srv/.exe", false),
            ("/srv/archive", false),
        ],
    )
    .await;
}
