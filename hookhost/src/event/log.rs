//! Log events: logins and failed logins, for notifier plugins.

use super::{Protocol, named_enum};

named_enum! {
    /// What happened, in SFTPGo's numbering (see [`LogEventKind::code`]).
    LogEventKind, "log event" {
        LoginFailed = "login_failed",
        LoginNoUser = "login_no_user",
        NoLoginTried = "no_login_tried",
        NotNegotiated = "not_negotiated",
        LoginOk = "login_ok",
    }
}

impl LogEventKind {
    /// SFTPGo's code: 1 login failed, 2 non-existent user, 3 no login tried,
    /// 4 algorithm negotiation failed, 5 login succeeded.
    pub fn code(self) -> u8 {
        self.index() as u8 + 1
    }

    /// The kind for SFTPGo's code 1..5.
    pub fn from_code(code: i64) -> Option<Self> {
        code.checked_sub(1)
            .and_then(|index| usize::try_from(index).ok())
            .and_then(|i| Self::ALL.get(i).copied())
    }
}

/// One log event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// What happened.
    pub kind: LogEventKind,
    /// Client protocol.
    pub protocol: Protocol,
    /// The user that tried to log in.
    pub username: String,
    /// Client IP.
    pub ip: String,
    /// The error text (empty for a successful login).
    pub message: String,
    /// Event time in nanoseconds since the Unix epoch (the host sets it when
    /// absent).
    pub timestamp: Option<i64>,
    /// The user's role, if any.
    pub role: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::LogEventKind;

    #[test]
    fn codes_are_sftpgos() {
        assert_eq!(LogEventKind::LoginFailed.code(), 1);
        assert_eq!(LogEventKind::LoginOk.code(), 5);
        assert_eq!(
            LogEventKind::from_code(4),
            Some(LogEventKind::NotNegotiated)
        );
        assert_eq!(LogEventKind::from_code(0), None);
        assert_eq!(LogEventKind::from_code(6), None);
        assert_eq!(LogEventKind::from_code(i64::MIN), None);
    }
}
