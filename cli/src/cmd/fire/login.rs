//! Login and connection events, read from the request `serve`'s route
//! takes, and the answer SFTPGo would get.

use hookhost::event::login::{
    KbdReply, KbdRound, LoginEvent, LoginHook, PasswordCheck, RetentionReport,
    decode_connection_request, decode_external_auth, decode_login_request,
};
use hookhost::{Host, LoginAnswer, LoginOutcome};
use serde_json::{Value, json};

use super::{Call, Printed, Request, report_json};

/// The login hook a call is for.
fn hook_of(call: Call) -> LoginHook {
    match call {
        Call::PreLogin => LoginHook::PreLogin,
        Call::ExternalAuth => LoginHook::ExternalAuth,
        Call::CheckPassword => LoginHook::CheckPassword,
        Call::PostLogin => LoginHook::PostLogin,
        Call::PostConnect => LoginHook::PostConnect,
        Call::PostDisconnect => LoginHook::PostDisconnect,
        Call::Startup => LoginHook::Startup,
        Call::DataRetention => LoginHook::DataRetention,
        other => unreachable!("{other:?} is not a login call"),
    }
}

/// The event of `call` from the request, and whether its form showed
/// today's SFTPGo (external auth's user as an object).
fn event(call: Call, request: &Request) -> Result<(LoginEvent, Option<bool>), String> {
    let hook = hook_of(call);
    Ok(match call {
        Call::PreLogin | Call::PostLogin => {
            let event = decode_login_request(hook, &request.query, request.body(call)?).map_err(
                |e| match e.field.as_str() {
                    "status" => format!("--query: status: {}", e.message),
                    _ => request.in_body(e),
                },
            )?;
            (event, None)
        }
        Call::ExternalAuth => {
            let (auth, current) =
                decode_external_auth(request.body(call)?).map_err(|e| request.in_body(e))?;
            (LoginEvent::ExternalAuth(auth), current)
        }
        Call::CheckPassword => {
            let check: PasswordCheck =
                serde_json::from_slice(request.body(call)?).map_err(|e| request.in_body(e))?;
            (LoginEvent::CheckPassword(check), None)
        }
        Call::DataRetention => {
            let report = RetentionReport::from_json(request.body(call)?, "body")
                .map_err(|e| request.in_body(e))?;
            (LoginEvent::DataRetention(report), None)
        }
        _ => {
            if hook != LoginHook::Startup && request.param("ip").is_empty() {
                return Err(format!(
                    "--call {}: --query needs ip (and protocol): ip=192.0.2.10&protocol=SSH",
                    call.name()
                ));
            }
            let event = decode_connection_request(hook, &request.query)
                .map_err(|e| format!("--query: {e}"))?;
            (event, None)
        }
    })
}

pub(super) async fn login(host: &Host, call: Call, request: &Request) -> Result<Printed, String> {
    let (event, current) = event(call, request)?;
    let mut dispatch = host.login(event).wait_for_all();
    if let Some(current) = current {
        dispatch = dispatch.sent_in_current_form(current);
    }
    Ok(printed(call, &dispatch.await))
}

/// The answer as printed, and whether the login or connection goes on.
fn printed(call: Call, outcome: &LoginOutcome) -> Printed {
    let (mut value, success) = match &outcome.answer {
        LoginAnswer::User(user) => (
            json!({"answer": "user", "user": serde_json::from_str::<Value>(user).unwrap_or_else(|_| json!(user))}),
            true,
        ),
        LoginAnswer::NoChange => (json!({"answer": "no_change"}), true),
        LoginAnswer::Password(answer) => (
            json!({"answer": "password", "status": answer.status, "to_verify": answer.to_verify}),
            matches!(answer.status, 1 | 2),
        ),
        LoginAnswer::Allow => (json!({"answer": "allow"}), true),
        LoginAnswer::Deny(reason) => (json!({"answer": "deny", "reason": reason}), false),
        LoginAnswer::Failed(reason) => (json!({"answer": "failed", "reason": reason}), false),
        LoginAnswer::NotConfigured => (
            json!({"answer": "not_configured", "reason": format!("no hook or plugin answers {}", call.name())}),
            false,
        ),
    };
    value["call"] = json!(call.name());
    // Told after the fact: their errors are failures, not refusals.
    let decides = !matches!(
        call,
        Call::PostLogin | Call::PostDisconnect | Call::Startup | Call::DataRetention
    );
    value["hooks"] = outcome
        .reports
        .iter()
        .map(|r| report_json(r, decides))
        .collect();
    Printed { value, success }
}

/// Every round of one keyboard-interactive login: the first from the
/// body, the next ones with the answers of `--answers`, until the hook
/// accepts or refuses or the answers run out. One line per round.
pub(super) async fn keyboard_interactive(
    host: &Host,
    request: &Request,
) -> Result<Printed, String> {
    let call = Call::KeyboardInteractive;
    let (mut round, current) =
        KbdRound::decode(request.body(call)?).map_err(|e| request.in_body(e))?;
    let answers = match &request.answers {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("--answers {}: {e}", path.display()))?
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(n, line)| {
                serde_json::from_str::<Vec<String>>(line).map_err(|e| {
                    format!(
                        "--answers {} line {}: expected a JSON array of strings: {e}",
                        path.display(),
                        n + 1
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let mut session = host.keyboard_session(Some(current)).await.ok_or(
        "no hook or plugin answers keyboard-interactive logins (sftpd.keyboard_interactive_auth_hooks, or an auth plugin with scope 4)",
    )?;
    let mut answers = answers.into_iter();
    let mut rounds = Vec::new();
    loop {
        let reply: KbdReply = session.round(&round).await;
        let step = round.step;
        let reply_json: Value = serde_json::from_slice(&reply.to_json()).expect("a reply is JSON");
        rounds.push(json!({"step": step, "reply": reply_json}));
        if reply.auth_result != 0 || session.is_finished() {
            let success = reply.auth_result == 1;
            let answer = if success { "accept" } else { "deny" };
            return Ok(Printed {
                value: json!({"call": call.name(), "answer": answer, "rounds": rounds}),
                success,
            });
        }
        let Some(next) = answers.next() else {
            return Ok(Printed {
                value: json!({"call": call.name(), "answer": "another_round",
                    "reason": "the hook asks another round and --answers has no more lines",
                    "rounds": rounds}),
                success: false,
            });
        };
        round = KbdRound {
            step: step + 1,
            // SFTPGo sends the client's IP in the first round only.
            ip: String::new(),
            questions: reply.questions,
            answers: next,
            ..round
        };
    }
}
