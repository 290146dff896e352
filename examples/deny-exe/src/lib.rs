//! `deny-exe`: a pre-upload hook refusing files by extension.
//!
//! The refused extensions come from the hook's arguments
//! (`"grants": {"args": ["exe", "bat"]}`) and from the `DENY_EXTENSIONS`
//! environment variable (comma-separated, `"grants": {"env": {...}}`). With
//! neither, it refuses common Windows executables.

use std::sync::OnceLock;

use hookhost_guest::{FsEvent, FsHook, Init, Verdict, log};

const DEFAULT: &[&str] = &["exe", "bat", "cmd", "com", "msi", "scr"];

/// The list, read once per instance: by `init` when the host makes the
/// instance ahead of its event, else by the first event (a reused instance
/// skips the WASI calls after that).
fn refused_extensions() -> &'static [String] {
    static LIST: OnceLock<Vec<String>> = OnceLock::new();
    LIST.get_or_init(read_refused_extensions)
}

fn read_refused_extensions() -> Vec<String> {
    let from_env = std::env::var("DENY_EXTENSIONS").unwrap_or_default();
    let mut list: Vec<String> = std::env::args()
        .skip(1)
        .chain(from_env.split(',').map(str::to_owned))
        .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    if list.is_empty() {
        list = DEFAULT.iter().map(|e| (*e).to_owned()).collect();
    }
    list
}

struct DenyExe;

impl Init for DenyExe {
    fn init() {
        refused_extensions();
    }
}

impl FsHook for DenyExe {
    fn handle(event: FsEvent) -> Verdict {
        let Some(ext) = event.extension() else {
            return Verdict::Allow;
        };
        if refused_extensions().contains(&ext) {
            log::info(
                "refused upload",
                &[("user", &event.username), ("path", &event.path)],
            );
            return Verdict::Deny(format!(".{ext} files are not allowed"));
        }
        Verdict::Allow
    }
}

hookhost_guest::export_fs_hook!(DenyExe);
hookhost_guest::export_init!(DenyExe);
