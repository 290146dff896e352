//! What the benchmark's tables share: the events they send and the
//! configuration their hosts run.

use std::path::Path;

use hookhost::Config;
use hookhost::event::{FsAction, FsEvent, Protocol};
use serde_json::{Value, json};

/// Event `i` of a run: every other one is an executable. Built just before
/// it is dispatched, so the harness holds no large buffers.
pub(crate) fn event(i: usize, action: FsAction) -> FsEvent {
    let path = if i.is_multiple_of(2) {
        format!("/srv/alice/file{i}.exe")
    } else {
        format!("/srv/alice/file{i}.txt")
    };
    FsEvent::new(action, "alice", path, Protocol::Sftp)
}

/// A configuration running `hooks` on file events, with the compile cache
/// in `cache` and engine settings `wasm`.
pub(crate) fn config(hooks: Value, cache: &Path, wasm: Value) -> Config {
    let config = json!({
        "common": {"actions": {"hooks": hooks}},
        "http": {"retry_max": 0, "timeout": 5},
        "hookhost": {"cache_dir": cache, "wasm": wasm},
    });
    Config::from_value(config, Path::new("/")).expect("benchmark configuration")
}
