//! {{name}}: an `fs-hook` refusing uploads over a size limit.
//!
//! It runs on `upload`, made synchronous with `execute_sync` (SFTPGo 2.4+
//! removes a file whose synchronous upload hook fails). Not on
//! `pre-upload`: there SFTPGo does not know the incoming size yet, and
//! `file_size` is the size of the file being overwritten (0 for a new one).
//!
//! The limit is the first argument (`grants.args`), in bytes; 10 MiB
//! without one. An argument it cannot read ("10 MB") refuses every upload,
//! naming it, rather than guess. The event's fields: `cargo doc --open`
//! (the `FsEvent` type) or docs/writing-hooks.md in hookhost's repository.

use std::sync::OnceLock;

use hookhost_guest::{FsAction, FsEvent, FsHook, Init, Verdict, log};

const DEFAULT_LIMIT: i64 = 10 << 20;

/// Read once per instance: by `init` when the host makes the instance
/// ahead of its event, otherwise by the event itself.
fn limit() -> &'static Result<i64, String> {
    static LIMIT: OnceLock<Result<i64, String>> = OnceLock::new();
    LIMIT.get_or_init(|| match std::env::args().nth(1) {
        None => Ok(DEFAULT_LIMIT),
        Some(arg) => arg
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                format!("the limit argument {arg:?} is not a number of bytes (10485760 is 10 MiB)")
            }),
    })
}

struct Hook;

/// Start-up work the host may run before the event, off its path.
impl Init for Hook {
    fn init() {
        limit();
    }
}

impl FsHook for Hook {
    fn handle(event: FsEvent) -> Verdict {
        if !matches!(event.action, FsAction::Upload) {
            return Verdict::Allow;
        }
        let limit = match limit() {
            Ok(limit) => *limit,
            Err(why) => {
                log::error(why, &[]);
                return Verdict::Deny(why.clone());
            }
        };
        if event.file_size > limit {
            log::info(
                "upload over the limit",
                &[
                    ("user", &event.username),
                    ("path", &event.path),
                    ("size", &event.file_size.to_string()),
                ],
            );
            return Verdict::Deny(format!(
                "{} bytes is over the limit of {limit} bytes",
                event.file_size
            ));
        }
        Verdict::Allow
    }
}

hookhost_guest::export_fs_hook!(Hook);
hookhost_guest::export_init!(Hook);
