//! Login and connection hooks: which run, and what their answers mean. One
//! hook per key behaves exactly as SFTPGo's; with more (hookhost's lists):
//!
//! - pre-login: in order, each gets the user as the previous one left it; a
//!   refusal or failure fails the login; the answer is the last user
//!   written, or "no change" when none wrote one;
//! - external auth: in order; a refusal or failure fails the login, a user
//!   answered ends the run with that user, an empty answer ("accept the
//!   stored user") goes on to the next hook; all empty: the stored user;
//! - check-password: in order; the first answer other than 1 (right)
//!   decides, a failure or unreadable answer is 0 (wrong); all 1: right;
//! - post-connect: in order; the first refusal or failure refuses the
//!   connection;
//! - post-login (within `post_login_scope`), post-disconnect: queued, each
//!   in its hook's lane, the answers only logged;
//! - startup: all run, concurrently; failures are logged and reported;
//! - keyboard-interactive: one hook, one exchange per login
//!   ([`KeyboardSession`]).
//!
//! Auth plugins come first where SFTPGo puts them: an auth plugin whose
//! scope covers the method answers external auth and keyboard-interactive
//! rounds instead of the hooks; one with the password scope answers
//! check-password; an IP filter plugin is asked before the post-connect
//! hooks.

use std::sync::Arc;

use serde::Serialize;

use super::{HookReport, Route, run_hook};
use crate::event::Contract;
use crate::event::login::{KbdReply, KbdRound, LoginEvent, LoginHook, PasswordAnswer};
use crate::event::rule::RuleTrigger;
use crate::hook::{Answer, EventRef, Exchange};

/// What the server is to do with a login or connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", content = "value", rename_all = "snake_case")]
pub enum LoginAnswer {
    /// Pre-login: create or replace the user with this JSON. External auth:
    /// log in this user (JSON).
    User(String),
    /// Pre-login: no change. External auth: the stored user, unchanged
    /// (SFTPGo's empty answer).
    NoChange,
    /// Check-password: SFTPGo's answer.
    Password(PasswordAnswer),
    /// Post-connect: allowed. Post-login, post-disconnect: queued. Startup:
    /// every hook succeeded.
    Allow,
    /// Refused, with the reason: a hook said no (a deny, a program's
    /// non-zero exit, a URL's non-200). The login or connection fails.
    Deny(String),
    /// A hook or plugin failed (timeout, trap, unreachable, unreadable
    /// answer): the login or connection fails all the same; post-*, startup:
    /// logged and counted.
    Failed(String),
    /// No hook (or plugin) is configured for it: SFTPGo would not have
    /// called one.
    NotConfigured,
}

/// The result of a login or connection event.
#[derive(Clone, Debug)]
pub struct LoginOutcome {
    /// What the server is to do.
    pub answer: LoginAnswer,
    /// The hooks that ran (none when queued or answered by a plugin).
    pub reports: Vec<HookReport>,
    /// The SFTPGo release the event was handled as coming from.
    pub contract: Contract,
}

impl LoginOutcome {
    pub(crate) fn new(answer: LoginAnswer, reports: Vec<HookReport>, contract: Contract) -> Self {
        LoginOutcome {
            answer,
            reports,
            contract,
        }
    }
}

/// The login and connection hooks of a host.
#[derive(Default)]
pub(crate) struct LoginRouter {
    routes: [Vec<Route>; LoginHook::ALL.len()],
    /// The Event Manager hooks, by trigger.
    rules: [Vec<Route>; RuleTrigger::ALL.len()],
    /// SFTPGo's `external_auth_scope`.
    pub(crate) external_auth_scope: u32,
    /// SFTPGo's `check_password_scope`.
    pub(crate) check_password_scope: u32,
    /// SFTPGo's `post_login_scope`.
    pub(crate) post_login_scope: u32,
    /// The share of the keyboard-interactive hook's slots (exec slots,
    /// wasm instances) its exchanges may hold between rounds; the rest stay
    /// for every other hook. `None`: a URL, which holds none.
    pub(crate) keyboard_share: Option<(Arc<tokio::sync::Semaphore>, usize)>,
}

impl LoginRouter {
    /// Run `route` for `hook`'s events.
    pub(crate) fn add(&mut self, hook: LoginHook, route: Route) {
        self.routes[hook.index()].push(route);
    }

    /// Run `route` for the Event Manager events of `triggers`.
    pub(crate) fn add_rule(&mut self, route: Route, triggers: &[RuleTrigger]) {
        for trigger in triggers {
            self.rules[trigger.index()].push(route.clone());
        }
    }

    pub(crate) fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes
            .iter()
            .flatten()
            .chain(self.rules.iter().flatten())
    }

    /// The hooks configured for `hook` (in scope for `event`).
    pub(crate) fn hooks_for(&self, event: &LoginEvent) -> &[Route] {
        if let LoginEvent::Rule(rule) = event {
            return &self.rules[rule.trigger.index()];
        }
        let routes = &self.routes[event.hook().index()];
        let in_scope = match event {
            LoginEvent::ExternalAuth(auth) => {
                self.external_auth_scope == 0 || self.external_auth_scope & auth.scope_bit() != 0
            }
            LoginEvent::CheckPassword(check) => {
                let bit = match check.protocol.as_str() {
                    "SSH" => 1,
                    "FTP" => 2,
                    "DAV" => 4,
                    _ => 0,
                };
                self.check_password_scope == 0 || self.check_password_scope & bit != 0
            }
            LoginEvent::PostLogin { succeeded, .. } => match self.post_login_scope {
                1 => !succeeded,
                2 => *succeeded,
                _ => true,
            },
            _ => true,
        };
        if in_scope { routes } else { &[] }
    }

    /// A keyboard-interactive exchange with the configured hook, if any.
    pub(crate) async fn keyboard_session(&self, contract: Contract) -> Option<KeyboardSession> {
        let route = self.routes[LoginHook::KeyboardInteractive.index()].first()?;
        let share = match &self.keyboard_share {
            None => None,
            Some((share, size)) => match share.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    tracing::warn!(hook = %route.name, share = size, "keyboard-interactive exchanges already hold their share of the hook's slots: login refused");
                    return Some(KeyboardSession {
                        source: KeyboardSource::Broken,
                        finished: false,
                        _share: None,
                    });
                }
            },
        };
        let source = match route.hook.exchange(&contract).await {
            Ok(exchange) => KeyboardSource::Hook {
                route: route.clone(),
                exchange,
            },
            Err(failure) => {
                route
                    .metrics
                    .record(&Err(failure.clone()), Default::default());
                tracing::warn!(hook = %route.name, error = %failure, "keyboard-interactive hook cannot start: login refused");
                KeyboardSource::Broken
            }
        };
        Some(KeyboardSession {
            source,
            finished: false,
            _share: share,
        })
    }

    /// Run `event`'s hooks now, in the contract of `contract`.
    pub(crate) async fn run(&self, event: &LoginEvent, contract: Contract) -> LoginOutcome {
        let hooks = self.hooks_for(event);
        if hooks.is_empty() {
            return LoginOutcome::new(LoginAnswer::NotConfigured, Vec::new(), contract);
        }
        match event.hook() {
            LoginHook::PreLogin => pre_login(hooks, event, contract).await,
            LoginHook::ExternalAuth => external_auth(hooks, event, contract).await,
            LoginHook::CheckPassword => check_password(hooks, event, contract).await,
            LoginHook::PostConnect => post_connect(hooks, event, contract).await,
            _ => notify(hooks, event, contract).await,
        }
    }
}

/// What a report says against the login: none when it did not refuse.
fn refusal(report: &HookReport) -> Option<LoginAnswer> {
    match &report.result {
        Ok(Answer::Deny(reason)) => Some(LoginAnswer::Deny(format!("{}: {reason}", report.hook))),
        Err(failure) => Some(LoginAnswer::Failed(format!("{}: {failure}", report.hook))),
        Ok(_) => None,
    }
}

fn no_answer(report: &HookReport) -> LoginAnswer {
    LoginAnswer::Failed(format!("{}: no answer", report.hook))
}

/// The user in an answer, as SFTPGo reads it: a JSON object.
fn user_answer(report: &HookReport, bytes: &[u8]) -> Result<String, String> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(_)) => {
            Ok(String::from_utf8(bytes.to_vec()).expect("valid JSON is UTF-8"))
        }
        _ => Err(format!(
            "{}: its answer is not a user JSON object",
            report.hook
        )),
    }
}

async fn pre_login(hooks: &[Route], event: &LoginEvent, contract: Contract) -> LoginOutcome {
    let LoginEvent::PreLogin { login, user } = event else {
        unreachable!("pre-login hooks get pre-login events")
    };
    let mut current = user.clone();
    let mut written = false;
    let mut reports = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let input = LoginEvent::PreLogin {
            login: login.clone(),
            user: current.clone(),
        };
        let report = run_hook(hook, EventRef::Login(&input), &contract).await;
        let step = match &report.result {
            Ok(Answer::Reply(bytes)) if crate::event::login::is_empty_answer(bytes) => Ok(()),
            Ok(Answer::Reply(bytes)) => user_answer(&report, bytes)
                .map(|user| {
                    current = Arc::from(user);
                    written = true;
                })
                .map_err(LoginAnswer::Failed),
            _ => Err(refusal(&report).unwrap_or_else(|| no_answer(&report))),
        };
        reports.push(report);
        if let Err(answer) = step {
            return LoginOutcome::new(answer, reports, contract);
        }
    }
    let answer = if written {
        LoginAnswer::User(current.to_string())
    } else {
        LoginAnswer::NoChange
    };
    LoginOutcome::new(answer, reports, contract)
}

async fn external_auth(hooks: &[Route], event: &LoginEvent, contract: Contract) -> LoginOutcome {
    let mut reports = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let report = run_hook(hook, EventRef::Login(event), &contract).await;
        let decided = match &report.result {
            Ok(Answer::Reply(bytes)) if crate::event::login::is_empty_answer(bytes) => None,
            Ok(Answer::Reply(bytes)) => Some(match user_answer(&report, bytes) {
                Ok(user) => LoginAnswer::User(user),
                Err(why) => LoginAnswer::Failed(why),
            }),
            _ => Some(refusal(&report).unwrap_or_else(|| no_answer(&report))),
        };
        reports.push(report);
        if let Some(answer) = decided {
            return LoginOutcome::new(answer, reports, contract);
        }
    }
    LoginOutcome::new(LoginAnswer::NoChange, reports, contract)
}

async fn check_password(hooks: &[Route], event: &LoginEvent, contract: Contract) -> LoginOutcome {
    let mut reports = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let report = run_hook(hook, EventRef::Login(event), &contract).await;
        // SFTPGo: a non-200, a non-zero exit or bad JSON is "unable to
        // check credentials".
        let decided = match &report.result {
            Ok(Answer::Reply(bytes)) => match serde_json::from_slice::<PasswordAnswer>(bytes) {
                Ok(answer) if answer.status == 1 => None,
                Ok(answer) => Some(LoginAnswer::Password(answer)),
                Err(err) => Some(LoginAnswer::Failed(format!(
                    "{}: unable to check credentials: {err}",
                    report.hook
                ))),
            },
            _ => Some(refusal(&report).unwrap_or_else(|| no_answer(&report))),
        };
        reports.push(report);
        if let Some(answer) = decided {
            return LoginOutcome::new(answer, reports, contract);
        }
    }
    let right = PasswordAnswer {
        status: 1,
        to_verify: String::new(),
    };
    LoginOutcome::new(LoginAnswer::Password(right), reports, contract)
}

async fn post_connect(hooks: &[Route], event: &LoginEvent, contract: Contract) -> LoginOutcome {
    let mut reports = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let report = run_hook(hook, EventRef::Login(event), &contract).await;
        let refused = refusal(&report);
        reports.push(report);
        if let Some(answer) = refused {
            return LoginOutcome::new(answer, reports, contract);
        }
    }
    LoginOutcome::new(LoginAnswer::Allow, reports, contract)
}

/// Post-login, post-disconnect, startup run now: every hook, concurrently;
/// a failure is reported (and logged by `run_hook`).
async fn notify(hooks: &[Route], event: &LoginEvent, contract: Contract) -> LoginOutcome {
    let reports = futures::future::join_all(
        hooks
            .iter()
            .map(|hook| run_hook(hook, EventRef::Login(event), &contract)),
    )
    .await;
    let problems: Vec<String> = reports
        .iter()
        .filter_map(refusal)
        .map(|answer| match answer {
            LoginAnswer::Deny(why) | LoginAnswer::Failed(why) => why,
            _ => unreachable!("refusals deny or fail"),
        })
        .collect();
    let answer = if problems.is_empty() {
        LoginAnswer::Allow
    } else {
        LoginAnswer::Failed(problems.join("; "))
    };
    LoginOutcome::new(answer, reports, contract)
}

/// One keyboard-interactive exchange (one login): its rounds go to the same
/// hook conversation, or to the auth plugin that handles
/// keyboard-interactive logins. A failure, or a reply SFTPGo would reject,
/// ends it as a refusal.
pub struct KeyboardSession {
    pub(crate) source: KeyboardSource,
    pub(crate) finished: bool,
    /// Its place in the hook's share, given back when it ends.
    pub(crate) _share: Option<tokio::sync::OwnedSemaphorePermit>,
}

pub(crate) enum KeyboardSource {
    Hook {
        route: Route,
        exchange: Box<dyn Exchange>,
    },
    /// An auth plugin's exchange.
    Plugin(Box<dyn Exchange>),
    /// The hook could not start an exchange: every round is refused.
    Broken,
}

impl KeyboardSession {
    /// Send one round; the reply to give the server (`auth_result` 1
    /// authenticated, 0 another round, -1 refused). After a final reply
    /// every round is refused.
    pub async fn round(&mut self, round: &KbdRound) -> KbdReply {
        if self.finished {
            return KbdReply::denied();
        }
        let reply = match &mut self.source {
            KeyboardSource::Hook { route, exchange } => {
                let started = std::time::Instant::now();
                let result = exchange.round(round).await;
                let recorded = result
                    .as_ref()
                    .map(|reply| Answer::Reply(reply.to_json()))
                    .map_err(Clone::clone);
                route.metrics.record(&recorded, started.elapsed());
                match result {
                    Ok(reply) => reply,
                    Err(failure) => {
                        tracing::warn!(hook = %route.name, user = %round.username, step = round.step, error = %failure, "keyboard-interactive hook failed: login refused");
                        KbdReply::denied()
                    }
                }
            }
            KeyboardSource::Broken => KbdReply::denied(),
            KeyboardSource::Plugin(exchange) => match exchange.round(round).await {
                Ok(reply) => reply,
                Err(failure) => {
                    tracing::info!(user = %round.username, error = %failure, "keyboard-interactive plugin refused the login");
                    KbdReply::denied()
                }
            },
        };
        let reply = match reply.validate() {
            Ok(()) => reply,
            Err(why) => {
                tracing::warn!(user = %round.username, step = round.step, reason = %why, "keyboard-interactive reply rejected: login refused");
                KbdReply::denied()
            }
        };
        if reply.auth_result != 0 {
            self.finished = true;
        }
        reply
    }

    /// Whether the exchange is over (a final reply was given).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// When the hook stops answering this exchange (a program's limit runs
    /// for the whole exchange); a server forgets the exchange then.
    pub fn deadline(&self) -> Option<tokio::time::Instant> {
        match &self.source {
            KeyboardSource::Hook { exchange, .. } | KeyboardSource::Plugin(exchange) => {
                exchange.deadline()
            }
            KeyboardSource::Broken => None,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The login rules with in-memory hooks: no process, no component.

    use std::path::Path;
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};

    use super::LoginAnswer;
    use crate::config::Config;
    use crate::event::Contract;
    use crate::event::login::{
        Connection, ExternalAuth, Login, LoginEvent, LoginHook, PasswordAnswer, PasswordCheck,
    };
    use crate::hook::{Answer, EventRef, Failure, Hook, HookKind, HookResult};
    use crate::host::Host;

    /// A hook answering `answer`, keeping the user JSON of each pre-login
    /// event it gets ("" for other events).
    struct Scripted {
        name: &'static str,
        answer: HookResult,
        seen: Arc<Mutex<Vec<String>>>,
    }

    #[async_trait::async_trait]
    impl Hook for Scripted {
        fn name(&self) -> &str {
            self.name
        }
        fn kind(&self) -> HookKind {
            HookKind::Native
        }
        async fn call(&self, event: EventRef<'_>, _: &Contract) -> HookResult {
            let user = match event {
                EventRef::Login(LoginEvent::PreLogin { user, .. }) => user.to_string(),
                _ => String::new(),
            };
            self.seen.lock().unwrap().push(user);
            self.answer.clone()
        }
    }

    fn reply(json: &str) -> HookResult {
        Ok(Answer::Reply(json.as_bytes().to_vec()))
    }

    /// A host with `hooks` (name, answer) as `kind`'s hooks in that order,
    /// `provider` merged into the configuration's `data_provider`; what
    /// each hook saw.
    async fn build(
        kind: LoginHook,
        hooks: Vec<(&'static str, HookResult)>,
        provider: Value,
    ) -> (Host, Vec<Arc<Mutex<Vec<String>>>>) {
        let config = Config::from_value(
            json!({"data_provider": provider, "hookhost": {"cache_dir": ""}}),
            Path::new("/"),
        )
        .unwrap();
        let mut builder = Host::builder(config);
        let mut seen = Vec::new();
        for (name, answer) in hooks {
            let log = Arc::new(Mutex::new(Vec::new()));
            seen.push(log.clone());
            builder = builder.login_hook(
                Scripted {
                    name,
                    answer,
                    seen: log,
                },
                kind,
            );
        }
        (builder.build().await.unwrap(), seen)
    }

    fn calls(seen: &[Arc<Mutex<Vec<String>>>]) -> Vec<usize> {
        seen.iter().map(|s| s.lock().unwrap().len()).collect()
    }

    fn login() -> Login {
        Login {
            username: "alice".into(),
            method: "password".into(),
            ip: "192.0.2.1".into(),
            protocol: "SSH".into(),
        }
    }

    fn pre_login() -> LoginEvent {
        LoginEvent::PreLogin {
            login: login(),
            user: Arc::from(r#"{"id":1,"username":"alice"}"#),
        }
    }

    fn external_auth(public_key: &str) -> LoginEvent {
        LoginEvent::ExternalAuth(ExternalAuth {
            username: "alice".into(),
            password: "secret".into(),
            public_key: public_key.into(),
            protocol: "SSH".into(),
            ..ExternalAuth::default()
        })
    }

    #[tokio::test]
    async fn pre_login_hooks_each_get_the_user_the_previous_one_wrote() {
        let changed = r#"{"id":1,"username":"alice","home_dir":"/srv/a"}"#;
        let (host, seen) = build(
            LoginHook::PreLogin,
            vec![("a", reply(changed)), ("b", reply("\n")), ("c", reply(""))],
            json!({}),
        )
        .await;
        let outcome = host.login(pre_login()).await;
        assert_eq!(outcome.answer, LoginAnswer::User(changed.into()));
        assert_eq!(seen[1].lock().unwrap()[0], changed, "b got a's user");
        assert_eq!(seen[2].lock().unwrap()[0], changed);
        host.shutdown().await;

        // None writes one: no change.
        let (host, _) = host_pre_login(vec![("a", reply("")), ("b", reply("\r\n"))]).await;
        assert_eq!(host.login(pre_login()).await.answer, LoginAnswer::NoChange);
        host.shutdown().await;
    }

    async fn host_pre_login(
        hooks: Vec<(&'static str, HookResult)>,
    ) -> (Host, Vec<Arc<Mutex<Vec<String>>>>) {
        build(LoginHook::PreLogin, hooks, json!({})).await
    }

    #[tokio::test]
    async fn a_pre_login_refusal_or_unreadable_user_fails_the_login_and_stops_the_chain() {
        let (host, seen) = host_pre_login(vec![
            ("a", Ok(Answer::Deny("exit status 1".into()))),
            ("b", reply("")),
        ])
        .await;
        assert_eq!(
            host.login(pre_login()).await.answer,
            LoginAnswer::Deny("a: exit status 1".into())
        );
        assert_eq!(calls(&seen), [1, 0]);
        host.shutdown().await;

        let (host, _) = host_pre_login(vec![("a", reply("[1,2]"))]).await;
        assert_eq!(
            host.login(pre_login()).await.answer,
            LoginAnswer::Failed("a: its answer is not a user JSON object".into())
        );
        host.shutdown().await;

        let (host, _) = host_pre_login(vec![(
            "a",
            Err(Failure::Error("connection refused".into())),
        )])
        .await;
        assert_eq!(
            host.login(pre_login()).await.answer,
            LoginAnswer::Failed("a: connection refused".into())
        );
        host.shutdown().await;
    }

    #[tokio::test]
    async fn external_auth_goes_on_past_empty_answers_and_stops_at_the_first_user() {
        let user = r#"{"username":"alice","status":1}"#;
        let (host, seen) = build(
            LoginHook::ExternalAuth,
            vec![("a", reply("")), ("b", reply(user)), ("c", reply("{}"))],
            json!({}),
        )
        .await;
        let outcome = host.login(external_auth("")).await;
        assert_eq!(outcome.answer, LoginAnswer::User(user.into()));
        assert_eq!(calls(&seen), [1, 1, 0]);
        assert_eq!(outcome.reports.len(), 2);
        host.shutdown().await;
    }

    #[tokio::test]
    async fn external_auth_outside_its_scope_runs_no_hook() {
        // Scope 1: passwords only; a public-key login is not the hook's.
        let (host, seen) = build(
            LoginHook::ExternalAuth,
            vec![("a", reply("{}"))],
            json!({"external_auth_scope": 1}),
        )
        .await;
        assert_eq!(
            host.login(external_auth("ssh-ed25519 AAAA")).await.answer,
            LoginAnswer::NotConfigured
        );
        assert_eq!(calls(&seen), [0]);
        assert_eq!(
            host.login(external_auth("")).await.answer,
            LoginAnswer::User("{}".into())
        );
        host.shutdown().await;
    }

    fn check() -> LoginEvent {
        LoginEvent::CheckPassword(PasswordCheck {
            username: "alice".into(),
            password: "secret".into(),
            ip: "192.0.2.1".into(),
            protocol: "FTP".into(),
        })
    }

    /// The answer of two check-password hooks answering `a` then `b`, and
    /// how often each ran.
    async fn two_checks(a: &str, b: &str) -> (LoginAnswer, Vec<usize>) {
        let (host, seen) = build(
            LoginHook::CheckPassword,
            vec![("a", reply(a)), ("b", reply(b))],
            json!({}),
        )
        .await;
        let answer = host.login(check()).await.answer;
        host.shutdown().await;
        (answer, calls(&seen))
    }

    #[tokio::test]
    async fn check_password_is_right_when_every_hook_says_1_else_the_first_other_answer() {
        let right = r#"{"status":1}"#;
        let password = |status, to_verify: &str| {
            LoginAnswer::Password(PasswordAnswer {
                status,
                to_verify: to_verify.into(),
            })
        };
        assert_eq!(
            two_checks(right, right).await,
            (password(1, ""), vec![1, 1])
        );
        assert_eq!(
            two_checks(r#"{"status":2,"to_verify":"pass"}"#, right).await,
            (password(2, "pass"), vec![1, 0])
        );

        let (host, _) = build(
            LoginHook::CheckPassword,
            vec![("a", reply("ok"))],
            json!({}),
        )
        .await;
        let LoginAnswer::Failed(why) = host.login(check()).await.answer else {
            panic!("an unreadable answer fails")
        };
        assert!(why.starts_with("a: unable to check credentials"), "{why}");
        host.shutdown().await;
    }

    #[tokio::test]
    async fn check_password_scope_selects_protocols() {
        // Scope 1: SSH only; this check comes over FTP.
        let (host, seen) = build(
            LoginHook::CheckPassword,
            vec![("a", reply(r#"{"status":1}"#))],
            json!({"check_password_scope": 1}),
        )
        .await;
        assert_eq!(host.login(check()).await.answer, LoginAnswer::NotConfigured);
        assert_eq!(calls(&seen), [0]);
        host.shutdown().await;
    }

    fn post_login(succeeded: bool) -> LoginEvent {
        LoginEvent::PostLogin {
            login: login(),
            succeeded,
            user: Arc::from(r#"{"username":"alice"}"#),
        }
    }

    #[tokio::test]
    async fn post_login_is_queued_within_its_scope() {
        // Scope 1: failed logins only.
        let (host, seen) = build(
            LoginHook::PostLogin,
            vec![("a", Ok(Answer::Allow))],
            json!({"post_login_scope": 1}),
        )
        .await;
        assert_eq!(
            host.login(post_login(true)).await.answer,
            LoginAnswer::NotConfigured
        );
        assert_eq!(
            host.login(post_login(false)).await.answer,
            LoginAnswer::Allow
        );
        host.shutdown().await;
        assert_eq!(
            calls(&seen),
            [1],
            "the queued one ran before shutdown returned"
        );
    }

    #[tokio::test]
    async fn post_connect_is_refused_by_the_first_refusing_hook() {
        let (host, seen) = build(
            LoginHook::PostConnect,
            vec![
                ("a", Ok(Answer::Allow)),
                ("b", Ok(Answer::Deny("status 403".into()))),
                ("c", Ok(Answer::Allow)),
            ],
            json!({}),
        )
        .await;
        let connection = LoginEvent::PostConnect(Connection {
            ip: "192.0.2.1".into(),
            protocol: "SSH".into(),
        });
        assert_eq!(
            host.login(connection).await.answer,
            LoginAnswer::Deny("b: status 403".into())
        );
        assert_eq!(calls(&seen), [1, 1, 0]);
        host.shutdown().await;
    }

    #[tokio::test]
    async fn startup_runs_every_hook_and_reports_each_failure() {
        let (host, seen) = build(
            LoginHook::Startup,
            vec![
                ("a", Err(Failure::Error("down".into()))),
                ("b", Ok(Answer::Allow)),
                ("c", Ok(Answer::Deny("exit status 2".into()))),
            ],
            json!({}),
        )
        .await;
        let outcome = host.login(LoginEvent::Startup).await;
        assert_eq!(
            outcome.answer,
            LoginAnswer::Failed("a: down; c: exit status 2".into())
        );
        assert_eq!(calls(&seen), [1, 1, 1]);
        host.shutdown().await;
    }
}
