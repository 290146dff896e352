//! `upload-webhook`: posts a JSON message for each upload to the webhook
//! URL of its first argument (a chat webhook, a queue's HTTP endpoint):
//!
//! ```json
//! {"text": "alice uploaded /reports/q3.pdf (18230 bytes)", "username": "alice",
//!  "path": "/reports/q3.pdf", "size": 18230, "protocol": "SFTP"}
//! ```
//!
//! The URL's origin must be granted separately; nothing else is reachable:
//!
//! ```json
//! {"hook": "upload_webhook.wasm", "execute_on": ["upload"],
//!  "grants": {"args": ["https://hooks.example.com/T000/B000"],
//!             "http": ["https://hooks.example.com"]}}
//! ```
//!
//! A webhook that does not answer 2xx is a failure (logged and counted; on
//! an `execute_sync` upload SFTPGo 2.4+ then removes the file).

use hookhost_guest::{FsAction, FsEvent, FsHook, Verdict, http, log};
use serde_json::json;

struct UploadWebhook;

impl FsHook for UploadWebhook {
    fn handle(event: FsEvent) -> Verdict {
        if !matches!(event.action, FsAction::Upload) {
            return Verdict::Allow;
        }
        let Some(url) = std::env::args().nth(1) else {
            return Verdict::Deny("no webhook URL: give it as the first argument".into());
        };
        let path = event
            .virtual_path
            .clone()
            .unwrap_or_else(|| event.path.clone());
        let message = json!({
            "text": format!("{} uploaded {} ({} bytes)", event.username, path, event.file_size),
            "username": event.username,
            "path": path,
            "size": event.file_size,
            "protocol": event.protocol.as_str(),
        });
        match http::post(&url, "application/json", message.to_string().as_bytes()) {
            Ok(reply) if (200..300).contains(&reply.status) => Verdict::Allow,
            Ok(reply) => Verdict::Deny(format!("the webhook answered {}", reply.status)),
            Err(error) => {
                log::warn("webhook unreachable", &[("error", &error.to_string())]);
                Verdict::Deny(format!("the webhook is unreachable: {error}"))
            }
        }
    }
}

hookhost_guest::export_fs_hook!(UploadWebhook);
