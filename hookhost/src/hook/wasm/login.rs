//! Components for SFTPGo's login and connection hooks: one world per hook
//! (`wit/login.wit`). A component's typed answer is written in the form
//! SFTPGo reads from a program or URL (user JSON, `{"status":...}`, nothing),
//! so the host interprets every kind of hook alike.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

use crate::event::login::{KbdReply, KbdRound, LoginEvent, LoginHook, PasswordAnswer};
use crate::failure::Failure;
use crate::hook::{Answer, Exchange};
use crate::sandbox::bindings::{
    check_password_hook, data_retention_hook, event_rule_hook, external_auth_hook,
    keyboard_interactive_hook, post_connect_hook, post_disconnect_hook, post_login_hook,
    pre_login_hook, startup_hook,
};
use crate::sandbox::{Live, Sandbox, State};

use super::{Bound, Instances, clip_reason};

macro_rules! login_worlds {
    ($($hook:ident => $module:ident :: $world:ident, $indices:ident;)+) => {
        /// A login-hook component's exports, by world.
        pub(super) enum LoginExports {
            $($hook($module::$indices),)+
        }

        /// An instantiated login-hook component.
        pub(super) enum LoginBound {
            $($hook($module::$world),)+
        }

        impl LoginExports {
            /// Check `component` (from `path`) implements the world of `hook`.
            pub(super) fn prepare(
                sandbox: &Sandbox,
                component: &wasmtime::component::Component,
                path: &std::path::Path,
                hook: LoginHook,
            ) -> Result<(InstancePre<State>, LoginExports), String> {
                Ok(match hook {
                    $(LoginHook::$hook => sandbox.check_world(component, path, hook.world(), |pre| {
                        let exports = LoginExports::$hook($module::$indices::new(&pre)?);
                        Ok((pre, exports))
                    })?,)+
                })
            }

            /// The world's exports in `instance`.
            pub(super) fn load(
                &self,
                store: &mut Store<State>,
                instance: &Instance,
            ) -> wasmtime::Result<LoginBound> {
                Ok(match self {
                    $(LoginExports::$hook(indices) => LoginBound::$hook(indices.load(store, instance)?),)+
                })
            }

            /// The hook the component serves.
            pub(super) fn hook(&self) -> LoginHook {
                match self {
                    $(LoginExports::$hook(_) => LoginHook::$hook,)+
                }
            }
        }
    };
}

login_worlds! {
    PreLogin => pre_login_hook::PreLoginHook, PreLoginHookIndices;
    ExternalAuth => external_auth_hook::ExternalAuthHook, ExternalAuthHookIndices;
    CheckPassword => check_password_hook::CheckPasswordHook, CheckPasswordHookIndices;
    KeyboardInteractive => keyboard_interactive_hook::KeyboardInteractiveHook, KeyboardInteractiveHookIndices;
    PostLogin => post_login_hook::PostLoginHook, PostLoginHookIndices;
    PostConnect => post_connect_hook::PostConnectHook, PostConnectHookIndices;
    PostDisconnect => post_disconnect_hook::PostDisconnectHook, PostDisconnectHookIndices;
    Startup => startup_hook::StartupHook, StartupHookIndices;
    DataRetention => data_retention_hook::DataRetentionHook, DataRetentionHookIndices;
    EventRule => event_rule_hook::EventRuleHook, EventRuleHookIndices;
}

/// An Event Manager event in the world's terms, and its time.
fn rule_event(
    rule: &crate::event::rule::RuleEvent,
) -> (
    event_rule_hook::exports::hookhost::hooks::event_rule::RuleEvent,
    i64,
) {
    use crate::event::rule::RuleTrigger;
    use event_rule_hook::exports::hookhost::hooks::event_rule as wit;
    let p = &rule.params;
    let event = match rule.trigger {
        RuleTrigger::IpBlocked => wit::RuleEvent::IpBlocked(p.ip.clone()),
        RuleTrigger::CertificateRenewal => {
            wit::RuleEvent::CertificateRenewal(wit::CertificateRenewal {
                domains: p.name.clone(),
                error: (p.status != 1 || !p.error.is_empty()).then(|| p.error.clone()),
            })
        }
        RuleTrigger::Schedule => wit::RuleEvent::Schedule(p.name.clone()),
        RuleTrigger::OnDemand => wit::RuleEvent::OnDemand,
        RuleTrigger::IdpLogin => wit::RuleEvent::IdpLogin(wit::IdpLogin {
            account: if rule.is_admin_login() {
                wit::IdpAccount::Admin
            } else {
                wit::IdpAccount::User
            },
            username: p.name.clone(),
            email: p.email.clone(),
            ip: p.ip.clone(),
            protocol: p.protocol.clone(),
            role: (!p.role.is_empty()).then(|| p.role.clone()),
        }),
    };
    // An on-demand run is not dated: Go's zero time.
    (event, p.timestamp.max(0))
}

fn done(result: Result<(), String>) -> Answer {
    match result {
        Ok(()) => Answer::Allow,
        Err(reason) => Answer::Deny(clip_reason(reason)),
    }
}

/// Call the component's export for `event` (its world checked before).
pub(super) async fn invoke(
    store: &mut Store<State>,
    bound: &LoginBound,
    event: &LoginEvent,
) -> wasmtime::Result<Answer> {
    Ok(match (bound, event) {
        (LoginBound::PreLogin(hook), LoginEvent::PreLogin { login, user }) => {
            use pre_login_hook::exports::hookhost::hooks::pre_login::PreLoginAnswer;
            let login = pre_login_hook::hookhost::hooks::login_types::Login {
                username: login.username.clone(),
                method: login.method.clone(),
                ip: login.ip.clone(),
                protocol: login.protocol.clone(),
            };
            match hook
                .hookhost_hooks_pre_login()
                .call_pre_login(store, &login, user)
                .await?
            {
                PreLoginAnswer::Replace(user) => Answer::Reply(user.into_bytes()),
                PreLoginAnswer::NoChange => Answer::Reply(Vec::new()),
                PreLoginAnswer::Deny(reason) => Answer::Deny(clip_reason(reason)),
            }
        }
        (LoginBound::ExternalAuth(hook), LoginEvent::ExternalAuth(auth)) => {
            use external_auth_hook::exports::hookhost::hooks::external_auth::{
                AuthAnswer, Credentials,
            };
            let credentials = Credentials {
                username: auth.username.clone(),
                ip: auth.ip.clone(),
                protocol: auth.protocol.clone(),
                password: auth.password.clone(),
                public_key: auth.public_key.clone(),
                keyboard_interactive: auth.keyboard_interactive,
                tls_cert: auth.tls_cert.clone(),
            };
            match hook
                .hookhost_hooks_external_auth()
                .call_authenticate(store, &credentials, auth.user.as_deref())
                .await?
            {
                AuthAnswer::User(user) => Answer::Reply(user.into_bytes()),
                AuthAnswer::StoredUser => Answer::Reply(Vec::new()),
                AuthAnswer::Deny(reason) => Answer::Deny(clip_reason(reason)),
            }
        }
        (LoginBound::CheckPassword(hook), LoginEvent::CheckPassword(check)) => {
            use check_password_hook::exports::hookhost::hooks::check_password::PasswordCheck;
            let answer =
                |status, to_verify| Answer::Reply(PasswordAnswer { status, to_verify }.to_json());
            match hook
                .hookhost_hooks_check_password()
                .call_check_password(
                    store,
                    &check.username,
                    &check.password,
                    &check.ip,
                    &check.protocol,
                )
                .await?
            {
                PasswordCheck::Right => answer(1, String::new()),
                PasswordCheck::Partial(to_verify) => answer(2, to_verify),
                PasswordCheck::Wrong(reason) => {
                    // SFTPGo's status 0: an answer, not a failure.
                    tracing::info!(user = %check.username, reason = %clip_reason(reason), "check-password component: wrong password");
                    answer(0, String::new())
                }
            }
        }
        (
            LoginBound::PostLogin(hook),
            LoginEvent::PostLogin {
                login,
                succeeded,
                user,
            },
        ) => {
            let login = post_login_hook::hookhost::hooks::login_types::Login {
                username: login.username.clone(),
                method: login.method.clone(),
                ip: login.ip.clone(),
                protocol: login.protocol.clone(),
            };
            done(
                hook.hookhost_hooks_post_login()
                    .call_post_login(store, &login, *succeeded, user)
                    .await?,
            )
        }
        (LoginBound::PostConnect(hook), LoginEvent::PostConnect(c)) => done(
            hook.hookhost_hooks_post_connect()
                .call_post_connect(store, &c.ip, &c.protocol)
                .await?,
        ),
        (LoginBound::PostDisconnect(hook), LoginEvent::PostDisconnect(d)) => done(
            hook.hookhost_hooks_post_disconnect()
                .call_post_disconnect(store, &d.ip, &d.protocol, &d.username, d.duration_ms)
                .await?,
        ),
        (LoginBound::Startup(hook), LoginEvent::Startup) => {
            done(hook.hookhost_hooks_startup().call_startup(store).await?)
        }
        (LoginBound::DataRetention(hook), LoginEvent::DataRetention(report)) => done(
            hook.hookhost_hooks_data_retention()
                .call_data_retention(store, &report.json)
                .await?,
        ),
        (LoginBound::EventRule(hook), LoginEvent::Rule(rule)) => {
            let (event, timestamp) = rule_event(rule);
            done(
                hook.hookhost_hooks_event_rule()
                    .call_handle(store, &event, timestamp)
                    .await?,
            )
        }
        _ => unreachable!("the event's hook was checked against the world"),
    })
}

/// One round on a keyboard-interactive component.
async fn next_round(
    store: &mut Store<State>,
    bound: &LoginBound,
    round: &KbdRound,
) -> wasmtime::Result<KbdReply> {
    use keyboard_interactive_hook::exports::hookhost::hooks::keyboard_interactive::{
        Round, RoundAnswer,
    };
    let LoginBound::KeyboardInteractive(hook) = bound else {
        unreachable!("exchanges start on keyboard-interactive components only")
    };
    let wit_round = Round {
        request_id: round.request_id.clone(),
        step: round.step,
        username: round.username.clone(),
        password: round.password.clone(),
        ip: round.ip.clone(),
        questions: round.questions.clone(),
        answers: round.answers.clone(),
    };
    Ok(
        match hook
            .hookhost_hooks_keyboard_interactive()
            .call_next_round(store, &wit_round)
            .await?
        {
            RoundAnswer::Ask(challenge) => KbdReply {
                instruction: challenge.instruction,
                questions: challenge.questions,
                echos: challenge.echos,
                auth_result: 0,
                check_password: challenge.check_password,
            },
            RoundAnswer::Accept => KbdReply {
                auth_result: 1,
                ..KbdReply::default()
            },
            RoundAnswer::Deny(reason) => {
                tracing::info!(user = %round.username, reason = %clip_reason(reason), "keyboard-interactive login refused by the hook");
                KbdReply::denied()
            }
        },
    )
}

/// A keyboard-interactive exchange on one instance: created at the first
/// round, called once per round under the hook's limits, released with the
/// exchange (or after a failure, which ends it).
pub(super) struct WasmExchange {
    pub(super) core: Arc<Instances>,
    pub(super) live: Option<Live<Bound>>,
    pub(super) failed: bool,
}

#[async_trait::async_trait]
impl Exchange for WasmExchange {
    async fn round(&mut self, round: &KbdRound) -> Result<KbdReply, Failure> {
        if self.failed {
            return Err(Failure::Error(
                "the exchange already failed; it cannot continue".into(),
            ));
        }
        let deadline = Instant::now() + self.core.limits.timeout;
        if self.live.is_none() {
            match self.core.keep(deadline).await {
                Ok(live) => self.live = Some(live),
                Err(failure) => {
                    self.failed = true;
                    return Err(failure);
                }
            }
        }
        let Live { store, bound, .. } = self.live.as_mut().expect("instantiated above");
        let round = round.clone();
        let result = self
            .core
            .sandbox
            .call(
                store,
                &self.core.limits,
                deadline,
                &*bound,
                move |store, bound| {
                    Box::pin(async move {
                        let Bound::Login(bound) = bound else {
                            unreachable!("a keyboard-interactive component")
                        };
                        next_round(store, bound, &round).await
                    })
                },
            )
            .await;
        if result.is_err() {
            self.failed = true;
            self.live = None;
        }
        result
    }
}
