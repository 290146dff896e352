//! The gRPC services a go-plugin client calls: go-plugin's own
//! ([`control`]) and the SFTPGo SDK service of each plugin type, each
//! mapping its requests onto the calls of [`crate::plugin::Plugins`].
//!
//! Answers follow what a Go plugin built on SFTPGo's SDK gives: the
//! plugin's refusal is an error status (code `Unknown`, as a Go handler's
//! plain `error` is) carrying the plugin's message; a call that failed
//! (trap, limit) is `Internal`, one past its time limit `DeadlineExceeded`;
//! a request hookhost cannot read is `InvalidArgument`.

mod auth;
pub(crate) mod control;
mod ipfilter;
mod kms;
mod notifier;
mod search;

use std::sync::Arc;

use tonic::Status;
use tonic::transport::server::Router;

use super::proto::sftpgo;
use crate::Host;
use crate::config::PluginKind;
use crate::failure::Failure;
use crate::plugin::PluginError;

/// Add the SDK service of `kind`, served by `host`'s one plugin.
pub(crate) fn add(router: Router, kind: &PluginKind, host: Arc<Host>) -> Router {
    match kind {
        PluginKind::Notifier(_) => router.add_service(
            sftpgo::notifier_server::NotifierServer::new(notifier::NotifierService { host }),
        ),
        PluginKind::Kms(options) => {
            router.add_service(sftpgo::kms_server::KmsServer::new(kms::KmsService {
                host,
                options: options.clone(),
            }))
        }
        PluginKind::Auth(_) => {
            router.add_service(sftpgo::auth_server::AuthServer::new(auth::AuthService {
                host,
            }))
        }
        PluginKind::EventSearcher => router.add_service(
            sftpgo::searcher_server::SearcherServer::new(search::SearcherService { host }),
        ),
        PluginKind::IpFilter => router.add_service(sftpgo::ip_filter_server::IpFilterServer::new(
            ipfilter::IpFilterService { host },
        )),
    }
}

/// The status a plugin's answer becomes.
fn status(error: PluginError) -> Status {
    match error {
        PluginError::Refused { message, .. } => Status::unknown(message),
        PluginError::Failed {
            plugin,
            failure: failure @ Failure::Timeout(_),
        } => Status::deadline_exceeded(format!("{plugin}: {failure}")),
        PluginError::Failed { plugin, failure } => Status::internal(format!("{plugin}: {failure}")),
        PluginError::NotConfigured(what) => {
            Status::unimplemented(format!("no plugin configured for {what}"))
        }
    }
}

/// A request field hookhost cannot read.
fn invalid(field: &str, problem: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{field}: {problem}"))
}

/// SFTPGo's JSON in a `bytes` field: none when empty.
fn json_text(bytes: Vec<u8>, field: &str) -> Result<Option<String>, Status> {
    if bytes.is_empty() {
        return Ok(None);
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| invalid(field, "not UTF-8 JSON"))
}

/// `Some` for a non-empty string (proto3 cannot tell empty from unset).
fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn answers_map_onto_grpc_codes() {
        let refused = status(PluginError::Refused {
            plugin: "auth".into(),
            message: "invalid credentials".into(),
        });
        assert_eq!(
            (refused.code(), refused.message()),
            (tonic::Code::Unknown, "invalid credentials")
        );
        let late = status(PluginError::Failed {
            plugin: "auth".into(),
            failure: Failure::Timeout(Duration::from_secs(2)),
        });
        assert_eq!(late.code(), tonic::Code::DeadlineExceeded);
        assert!(late.message().starts_with("auth: "), "{}", late.message());
        let trap = status(PluginError::Failed {
            plugin: "auth".into(),
            failure: Failure::Trap("unreachable".into()),
        });
        assert_eq!(trap.code(), tonic::Code::Internal);
    }

    #[test]
    fn json_fields_are_text_or_nothing() {
        assert_eq!(json_text(vec![], "user").unwrap(), None);
        assert_eq!(
            json_text(b"{}".to_vec(), "user").unwrap().as_deref(),
            Some("{}")
        );
        assert_eq!(
            json_text(vec![0xff], "user").unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }
}
