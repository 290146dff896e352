//! `kbd-code`: a keyboard-interactive hook asking two questions: the
//! password (checked by the server: `check_password` 1), then a one-time
//! code read from a granted JSON file (`{"alice": "482913"}`), with one
//! retry after a wrong code.
//!
//! The exchange's state (which question was asked, how many tries are
//! left) lives in the instance's memory: the host keeps one instance per
//! login across its rounds.
//!
//! ```json
//! {"sftpd": {"keyboard_interactive_authentication": true,
//!   "keyboard_interactive_auth_hooks": [{"hook": "kbd_code.wasm",
//!     "grants": {"dirs": [{"host": "/etc/sftpgo/codes", "guest": "/codes"}]}}]}}
//! ```
//!
//! `CODES_FILE` (a granted variable) defaults to `/codes/codes.json`.

use std::cell::Cell;

use hookhost_guest::log;
use hookhost_guest::login::{Challenge, KeyboardInteractive, Round, RoundAnswer};

/// Wrong codes accepted before the login is refused.
const TRIES: u32 = 2;

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Start,
    AskedPassword,
    AskedCode { tries: u32 },
}

thread_local! {
    static PHASE: Cell<Phase> = const { Cell::new(Phase::Start) };
}

fn ask(instruction: &str, question: &str, echo: bool, check_password: i32) -> RoundAnswer {
    RoundAnswer::Ask(Challenge {
        instruction: instruction.to_owned(),
        questions: vec![question.to_owned()],
        echos: vec![echo],
        check_password,
    })
}

fn code_of(username: &str) -> Result<Option<String>, String> {
    let path = std::env::var("CODES_FILE").unwrap_or_else(|_| "/codes/codes.json".to_owned());
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let codes: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{path}: {e}"))?;
    Ok(codes
        .get(username)
        .and_then(|c| c.as_str())
        .map(str::to_owned))
}

struct KbdCode;

impl KeyboardInteractive for KbdCode {
    fn next_round(round: Round) -> RoundAnswer {
        let phase = if round.step <= 1 {
            Phase::Start
        } else {
            PHASE.get()
        };
        let (next, answer) = match phase {
            Phase::Start => (Phase::AskedPassword, ask("", "Password: ", false, 1)),
            Phase::AskedPassword if round.answers == ["OK"] => (
                Phase::AskedCode { tries: 0 },
                ask("Second factor", "One-time code: ", true, 0),
            ),
            Phase::AskedPassword => (Phase::Start, RoundAnswer::Deny("wrong password".into())),
            Phase::AskedCode { tries } => {
                let given = round.answers.first().map(String::as_str).unwrap_or("");
                match code_of(&round.username) {
                    Err(err) => {
                        log::error("cannot read the codes", &[("error", &err)]);
                        (Phase::Start, RoundAnswer::Deny(err))
                    }
                    Ok(Some(code)) if !given.is_empty() && given == code => {
                        (Phase::Start, RoundAnswer::Accept)
                    }
                    Ok(_) if tries + 1 < TRIES => (
                        Phase::AskedCode { tries: tries + 1 },
                        ask("Wrong code, try again", "One-time code: ", true, 0),
                    ),
                    Ok(_) => (Phase::Start, RoundAnswer::Deny("wrong code".into())),
                }
            }
        };
        PHASE.set(next);
        answer
    }
}

hookhost_guest::export_keyboard_interactive_hook!(KbdCode);
