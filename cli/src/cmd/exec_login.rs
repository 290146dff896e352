//! `hookhost exec` as a login or connection hook: answers on stdout and
//! with the exit status, as SFTPGo reads them.
//!
//! - pre-login, external auth: the user JSON on stdout, or nothing (no
//!   change / the stored user); exit 1 refuses the login.
//! - check-password: `{"status":N,"to_verify":"..."}` on stdout; exit 1
//!   when a hook failed ("unable to check credentials").
//! - keyboard-interactive: one JSON reply per line on stdout; the answers
//!   of each round are read from stdin, one per line, as SFTPGo writes
//!   them; the program ends after a final reply (`auth_result` not 0).
//! - post-connect: exit 0 allows the connection, 1 refuses it.
//! - post-login, post-disconnect, startup: the hooks run now; exit 1 when
//!   one failed (SFTPGo only logs it).

use std::io::Write;
use std::process::ExitCode;

use hookhost::event::login::{ExecLogin, KbdReply, KbdRound, LoginHook};
use hookhost::{Config, Host, LoginAnswer};
use tokio::io::{AsyncBufReadExt, BufReader};

pub async fn run(config: Config, login: ExecLogin) -> Result<ExitCode, String> {
    let host = Host::new(config).await.map_err(|e| e.to_string())?;
    let code = match login {
        ExecLogin::Event(event) => {
            let hook = event.hook();
            let outcome = host.login(event).wait_for_all().await;
            match outcome.answer {
                LoginAnswer::User(user) => print(user.as_bytes()),
                LoginAnswer::Password(answer) => print(&answer.to_json()),
                LoginAnswer::NoChange | LoginAnswer::Allow => ExitCode::SUCCESS,
                // An auth check nothing answers fails; pre-login with no
                // hook is "no change".
                LoginAnswer::NotConfigured
                    if matches!(hook, LoginHook::ExternalAuth | LoginHook::CheckPassword) =>
                {
                    eprintln!("hookhost: no hook or plugin is configured for {hook}");
                    ExitCode::from(1)
                }
                LoginAnswer::NotConfigured => ExitCode::SUCCESS,
                LoginAnswer::Deny(reason) | LoginAnswer::Failed(reason) => {
                    eprintln!("hookhost: {reason}");
                    ExitCode::from(1)
                }
            }
        }
        ExecLogin::KeyboardInteractive {
            username,
            ip,
            password,
        } => keyboard(&host, username, ip, password).await?,
    };
    host.shutdown().await;
    Ok(code)
}

fn print(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hookhost: cannot write the answer: {err}");
            ExitCode::from(1)
        }
    }
}

/// An id for the exchange, as SFTPGo's (an xid) would tie the rounds of a
/// URL hook: unique per process and time.
fn request_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{:x}{:08x}", now.as_nanos(), std::process::id())
}

async fn keyboard(
    host: &Host,
    username: String,
    ip: String,
    password: String,
) -> Result<ExitCode, String> {
    let Some(mut session) = host.keyboard_session(None).await else {
        eprintln!("hookhost: no keyboard-interactive hook or auth plugin is configured");
        return Ok(ExitCode::from(1));
    };
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut round = KbdRound {
        request_id: request_id(),
        step: 1,
        username,
        password,
        ip,
        answers: Vec::new(),
        questions: Vec::new(),
    };
    loop {
        let reply: KbdReply = session.round(&round).await;
        let mut line = reply.to_json();
        line.push(b'\n');
        if print(&line) != ExitCode::SUCCESS || reply.auth_result != 0 {
            return Ok(ExitCode::SUCCESS);
        }
        let mut answers = Vec::with_capacity(reply.questions.len());
        while answers.len() < reply.questions.len() {
            match stdin.next_line().await {
                Ok(Some(answer)) => answers.push(answer.trim_end_matches('\r').to_owned()),
                Ok(None) | Err(_) => {
                    // SFTPGo stopped the exchange (the client left).
                    return Ok(ExitCode::from(1));
                }
            }
        }
        round = KbdRound {
            step: round.step + 1,
            answers,
            questions: reply.questions,
            ip: String::new(),
            ..round
        };
    }
}
