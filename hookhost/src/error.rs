//! The error every input shares: the field at fault and what is wrong
//! with it.
//!
//! The rule the crate follows: every public function returns a typed error —
//! [`FieldError`] for input (an event body, exec variables, the `http`
//! section, a grant), [`ConfigError`](crate::ConfigError) for a
//! configuration (a [`FieldError`] plus the file it came from), or its
//! module's own error for what can fail at run time
//! ([`Error`](crate::Error) building a host,
//! [`JournalError`](crate::journal::JournalError),
//! [`PluginError`](crate::plugin::PluginError), and with their features
//! `serve::ServeError` and `gateway::GatewayError`). `String` errors live
//! only inside private code and are wrapped at the boundary.

/// Input that cannot be used; the message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field at fault: a JSON path (`common.actions.execute_on[2]`),
    /// `body` for a document as a whole, a variable (`SFTPGO_ACTION_PATH`)
    /// or an argument (`argv[3]`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}
