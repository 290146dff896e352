//! Login and connection events through a [`Host`]: plugins where SFTPGo
//! puts them, then the hooks of the event's key (see
//! [`crate::dispatch::login`]).

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use super::Host;
use crate::dispatch::login::{KeyboardSession, KeyboardSource, LoginAnswer, LoginOutcome};
use crate::event::Contract;
use crate::event::login::{ExternalAuth, KbdReply, KbdRound, LoginEvent, PasswordAnswer};
use crate::failure::Failure;
use crate::hook::Exchange;
use crate::plugin::{Credential, PluginError};

impl Host {
    /// Run a login or connection hook's event as SFTPGo would have run the
    /// hook, and await the [`LoginOutcome`]:
    ///
    /// - pre-login, external auth, check-password, post-connect: now; the
    ///   answer is what SFTPGo is to do;
    /// - post-login (within `post_login_scope`), post-disconnect: queued for
    ///   their hooks' lanes ([`LoginAnswer::Allow`]);
    /// - startup: now, every hook.
    ///
    /// An auth plugin whose scope covers the credential answers external
    /// auth and check-password instead of the hooks; an IP filter plugin
    /// is asked before the post-connect hooks. `.wait_for_all()` runs
    /// queued hooks now and waits (what `hookhost exec` does).
    pub fn login(&self, event: LoginEvent) -> LoginDispatch<'_> {
        LoginDispatch {
            host: self,
            event,
            current_form: None,
            wait_for_all: false,
            answer_within: None,
        }
    }

    /// The contract of a login event: `current_form` is what its request
    /// showed of its SFTPGo release (`None`: nothing).
    pub(crate) fn login_contract(&self, current_form: Option<bool>) -> Contract {
        self.inner.versions.login_contract(current_form)
    }

    async fn run_login(
        &self,
        event: LoginEvent,
        current_form: Option<bool>,
        wait_for_all: bool,
    ) -> LoginOutcome {
        let contract = self.login_contract(current_form);
        if let Some(recorder) = &self.inner.recorder {
            recorder.login(&event, &contract);
        }
        let router = &self.inner.router;
        let plugins = &self.inner.plugins;
        let answered = |answer| LoginOutcome::new(answer, Vec::new(), contract);
        match &event {
            LoginEvent::ExternalAuth(auth) if plugins.has_auth_scope(auth.scope_bit()) => {
                return answered(self.plugin_auth(auth).await);
            }
            LoginEvent::CheckPassword(check)
                if plugins.has_auth_scope(crate::config::auth_scope::PASSWORD) =>
            {
                let answer = plugins
                    .check_password(&check.username, &check.password, &check.ip, &check.protocol)
                    .await;
                return answered(match answer {
                    Ok(answer) => LoginAnswer::Password(PasswordAnswer {
                        status: answer.status,
                        to_verify: answer.to_verify,
                    }),
                    Err(PluginError::Refused { .. }) => LoginAnswer::Password(PasswordAnswer {
                        status: 0,
                        to_verify: String::new(),
                    }),
                    Err(err) => LoginAnswer::Failed(err.to_string()),
                });
            }
            LoginEvent::PostConnect(connection) => {
                if let Err(err) = plugins.check_ip(&connection.ip, &connection.protocol).await {
                    tracing::info!(ip = %connection.ip, protocol = %connection.protocol, reason = %err, "connection refused by the IP filter");
                    return answered(match err {
                        PluginError::Failed { .. } => LoginAnswer::Failed(err.to_string()),
                        _ => LoginAnswer::Deny(err.to_string()),
                    });
                }
                if router.routes.login.hooks_for(&event).is_empty() && plugins.has_ip_filter() {
                    return answered(LoginAnswer::Allow);
                }
            }
            _ => {}
        }
        let hook = event.hook();
        if !wait_for_all && hook.queued() {
            if router.routes.login.hooks_for(&event).is_empty() {
                return answered(LoginAnswer::NotConfigured);
            }
            return answered(match router.queue_login(event, contract).await {
                crate::dispatch::Decision::Queued => LoginAnswer::Allow,
                _ => LoginAnswer::Failed("the host is shutting down".into()),
            });
        }
        router.routes.login.run(&event, contract).await
    }

    async fn plugin_auth(&self, auth: &ExternalAuth) -> LoginAnswer {
        let credential = if !auth.tls_cert.is_empty() {
            Credential::TlsCertificate(auth.tls_cert.clone())
        } else if !auth.public_key.is_empty() {
            Credential::PublicKey(auth.public_key.clone())
        } else if auth.keyboard_interactive {
            Credential::KeyboardInteractive
        } else {
            Credential::Password(auth.password.clone())
        };
        let result = self
            .inner
            .plugins
            .authenticate(
                &auth.username,
                credential,
                &auth.ip,
                &auth.protocol,
                auth.user.as_deref(),
            )
            .await;
        match result {
            Ok(Some(user)) => LoginAnswer::User(user),
            Ok(None) => LoginAnswer::NoChange,
            Err(err @ PluginError::Failed { .. }) => LoginAnswer::Failed(err.to_string()),
            Err(err) => {
                tracing::info!(username = %auth.username, ip = %auth.ip, protocol = %auth.protocol, reason = %err, "external authentication refused");
                LoginAnswer::Deny(err.to_string())
            }
        }
    }

    /// Start a keyboard-interactive exchange (one login): with the
    /// `keyboard_interactive_auth_hook`, else with an auth plugin that has
    /// the keyboard-interactive scope; `None` when neither is configured.
    /// `current_form` as for [`LoginDispatch`].
    pub async fn keyboard_session(&self, current_form: Option<bool>) -> Option<KeyboardSession> {
        let contract = self.login_contract(current_form);
        if let Some(session) = self
            .inner
            .router
            .routes
            .login
            .keyboard_session(contract)
            .await
        {
            return Some(session);
        }
        self.inner
            .plugins
            .has_auth_scope(crate::config::auth_scope::KEYBOARD_INTERACTIVE)
            .then(|| KeyboardSession {
                source: KeyboardSource::Plugin(Box::new(PluginExchange(self.clone()))),
                finished: false,
                _share: None,
            })
    }
}

/// Keyboard-interactive rounds answered by the auth plugin with that scope
/// (every round of one `request_id` on the same plugin instance).
struct PluginExchange(Host);

#[async_trait::async_trait]
impl Exchange for PluginExchange {
    async fn round(&mut self, round: &KbdRound) -> Result<KbdReply, Failure> {
        let request = crate::plugin::auth::KeyboardRequest {
            request_id: round.request_id.clone(),
            username: round.username.clone(),
            password: round.password.clone(),
            ip: round.ip.clone(),
            answers: round.answers.clone(),
            questions: round.questions.clone(),
            step: i32::try_from(round.step).unwrap_or(i32::MAX),
        };
        let answer = self
            .0
            .plugins()
            .send_keyboard_auth_request(&request)
            .await
            .map_err(|err| Failure::Error(err.to_string()))?;
        Ok(KbdReply {
            instruction: answer.instruction,
            questions: answer.questions,
            echos: answer.echos,
            auth_result: answer.auth_result,
            check_password: answer.check_password,
        })
    }
}

/// One login event ([`Host::login`]): await it for the [`LoginOutcome`].
#[must_use = "a login dispatch does nothing until awaited"]
pub struct LoginDispatch<'h> {
    host: &'h Host,
    event: LoginEvent,
    current_form: Option<bool>,
    wait_for_all: bool,
    answer_within: Option<std::time::Duration>,
}

impl LoginDispatch<'_> {
    /// Run the hooks now and wait, post-login and post-disconnect included.
    pub fn wait_for_all(mut self) -> Self {
        self.wait_for_all = true;
        self
    }

    /// Handle it as coming from today's SFTPGo (`true`) or the reference's
    /// (`false`), as its request showed; by default the pinned
    /// `sftpgo_version`, else today's.
    pub fn sent_in_current_form(mut self, current: bool) -> Self {
        self.current_form = Some(current);
        self
    }

    /// Answer within `limit` (see [`crate::Dispatch::answer_within`]): past
    /// it the hooks are stopped and the login fails.
    pub fn answer_within(mut self, limit: std::time::Duration) -> Self {
        self.answer_within = Some(limit);
        self
    }
}

impl<'h> IntoFuture for LoginDispatch<'h> {
    type Output = LoginOutcome;
    type IntoFuture = Pin<Box<dyn Future<Output = LoginOutcome> + Send + 'h>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let hook = self.event.hook();
            let run = self
                .host
                .run_login(self.event, self.current_form, self.wait_for_all);
            let Some(limit) = self.answer_within else {
                return run.await;
            };
            match tokio::time::timeout(limit, run).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    let reason = format!(
                        "no answer within {} ms (below SFTPGo's per-attempt http.timeout); the hooks still running were stopped",
                        limit.as_millis()
                    );
                    tracing::warn!(%hook, %reason, "login event unanswered");
                    LoginOutcome::new(
                        LoginAnswer::Failed(reason),
                        Vec::new(),
                        self.host.login_contract(self.current_form),
                    )
                }
            }
        })
    }
}
