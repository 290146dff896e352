//! Routing and semantics: which hooks run for an event, whether the caller
//! waits, and what the hooks' answers mean for the operation.
//!
//! - `pre-upload`, `pre-download`: always synchronous. Hooks run in
//!   configuration order; the first one that does not allow (a deny, or any
//!   failure: timeout, trap, unreachable URL, ...) denies the operation and
//!   the rest are skipped. Failing closed is deliberate: a broken policy hook
//!   must not let files through.
//! - `pre-delete`: always synchronous; what the answers mean depends on the
//!   SFTPGo release ([`Contract`]):
//!   - from 2.5 (today): like `pre-upload`, the first hook that does not
//!     allow (a deny, a program's non-zero exit, a URL's non-200, any
//!     failure) denies the delete. A wasm `handled` means the hook already
//!     removed or moved the file: the later hooks are skipped and the delete
//!     is allowed (SFTPGo finds the file gone, counts it deleted and fires
//!     `delete`).
//!   - before 2.5 (the reference): hooks run in order until one answers
//!     "handled" (exit 0, HTTP 200, or a wasm `handled`): the file is
//!     already deleted or moved, so the server must neither delete it nor
//!     fire `delete`. Otherwise (including failures) the server deletes the
//!     file itself. A delete cannot be refused.
//! - every other action: asynchronous unless listed in `execute_sync`. Its
//!   hooks run concurrently; a deny or failure is logged and, when
//!   synchronous, reported as [`Decision::Failed`] (for a synchronous
//!   `upload`, SFTPGo 2.4 and later then removes the file).
//! - provider events: always asynchronous, as in SFTPGo.
//!
//! Asynchronous work is queued per hook: each hook has its own lane (a
//! bounded queue and its workers), so a slow hook delays only its own
//! events, never an unrelated hook's.
//!
//! [`Outcome::reply`] is the one place that says how a decision is told to
//! the server; the fronts (`serve`, `hookhost exec`) only spell it.

mod keep;
pub(crate) mod login;
pub(crate) mod pool;
pub(crate) mod remote;
mod table;

use keep::{Keeper, Kept};
use table::Table;

use pool::AsyncPool;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde::Serialize;

use crate::event::login::LoginEvent;
use crate::event::record::{self, Record};
use crate::event::{Change, Contract, FsAction, FsEvent, ProviderEvent};
use crate::hook::{Answer, EventRef, Failure, HookKind, HookResult, SharedHook};
use crate::journal::Ticket;
use crate::metrics::HookMetrics;

/// A hook with its metric handles and its lane for asynchronous work.
#[derive(Clone)]
pub struct Route {
    hook: SharedHook,
    name: Arc<str>,
    metrics: Arc<HookMetrics>,
    lane: Arc<AsyncPool>,
    /// How the shared queue retries it.
    retry: crate::config::HookRetry,
}

impl Route {
    /// Route events to `hook`, recording into `metrics`; its asynchronous
    /// events wait in a queue of `queue_size` for one of `workers` (must be
    /// called inside a Tokio runtime).
    pub fn new(
        hook: SharedHook,
        metrics: Arc<HookMetrics>,
        workers: usize,
        queue_size: usize,
    ) -> Self {
        let name = Arc::from(hook.name());
        Route {
            hook,
            name,
            metrics,
            lane: Arc::new(AsyncPool::new(workers, queue_size)),
            retry: crate::config::HookRetry::default(),
        }
    }

    /// With the shared queue retrying it per `retry` (the hook's own
    /// `queue` settings).
    pub(crate) fn with_retry(mut self, retry: crate::config::HookRetry) -> Self {
        self.retry = retry;
        self
    }
}

/// What the server should do with the operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", content = "reason", rename_all = "lowercase")]
pub enum Decision {
    /// Proceed: for `pre-*` the operation is allowed (for `pre-delete`, the
    /// server deletes the file itself); for other actions every hook
    /// succeeded.
    Allow,
    /// `pre-upload`/`pre-download` refused: the client gets "permission
    /// denied".
    Deny(String),
    /// `pre-delete`: a hook already deleted or moved the file.
    Handled,
    /// A synchronous notification whose hooks failed.
    Failed(String),
    /// An asynchronous action, accepted for background execution.
    Queued,
}

impl Decision {
    /// Whether the operation may go on (everything but deny and failure).
    pub fn is_success(&self) -> bool {
        !matches!(self, Decision::Deny(_) | Decision::Failed(_))
    }
}

/// One hook's part in an outcome.
#[derive(Clone, Debug)]
pub struct HookReport {
    /// The hook's name (shared with the configuration, not copied per event).
    pub hook: Arc<str>,
    /// The hook's kind.
    pub kind: HookKind,
    /// What it answered.
    pub result: HookResult,
    /// How long it took.
    pub duration: Duration,
}

/// How the server is told a decision, in the terms of its contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The hook succeeded (SFTPGo reads HTTP 200 or exit status 0): the
    /// operation proceeds; for a `pre-delete` before 2.5, the file was
    /// handled.
    Success,
    /// A `pre-delete` before 2.5 that no hook handled: anything but
    /// success, so SFTPGo deletes the file itself.
    NotHandled,
    /// A `pre-delete` the hooks allowed, from a request that fits both
    /// SFTPGo 2.2–2.4 and 2.5+ (`auto`, no `role`): success would mean
    /// "handled, do not delete" to the first and "allowed" to the second,
    /// so it is told as not success — 2.2–2.4 then delete the file, 2.5+
    /// refuse the delete — and never as "handled" by accident. Pinning
    /// `hookhost.sftpgo_version` avoids it.
    Undated,
    /// Refused.
    Denied,
    /// A synchronous hook failed.
    Failed,
}

/// What an allowed `pre-delete` means to the release that sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PreDeleteEra {
    /// 2.5 and later: allowed; SFTPGo deletes the file.
    Today,
    /// Before 2.5: not handled; SFTPGo deletes the file.
    Legacy,
    /// Either (see [`Reply::Undated`]).
    Undated,
}

impl PreDeleteEra {
    fn of(contract: &Contract) -> Self {
        if !contract.has(Change::PreDeleteCanDeny) {
            PreDeleteEra::Legacy
        } else if contract.proves(Change::PreDeleteCanDeny) {
            PreDeleteEra::Today
        } else {
            PreDeleteEra::Undated
        }
    }
}

/// The result of dispatching one event.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// What the server should do.
    pub decision: Decision,
    /// The hooks that ran (empty for queued events), in the order they ran.
    pub reports: Vec<HookReport>,
    /// The SFTPGo release the event was handled as coming from.
    pub contract: Contract,
    /// For a pre-delete: what "allowed" means to its sender.
    pre_delete: Option<PreDeleteEra>,
}

impl Outcome {
    pub(crate) fn new(decision: Decision, reports: Vec<HookReport>, contract: Contract) -> Self {
        Outcome {
            decision,
            reports,
            contract,
            pre_delete: None,
        }
    }

    /// The outcome of a pre-delete, told in its sender's terms.
    fn pre_delete(mut self) -> Self {
        self.pre_delete = Some(PreDeleteEra::of(&self.contract));
        self
    }

    /// How to tell the server (see [`Reply`]).
    pub fn reply(&self) -> Reply {
        match &self.decision {
            Decision::Handled | Decision::Queued => Reply::Success,
            Decision::Allow => match self.pre_delete {
                Some(PreDeleteEra::Legacy) => Reply::NotHandled,
                Some(PreDeleteEra::Undated) => Reply::Undated,
                Some(PreDeleteEra::Today) | None => Reply::Success,
            },
            Decision::Deny(_) => Reply::Denied,
            Decision::Failed(_) => Reply::Failed,
        }
    }
}

/// The dispatcher of a host: its routing table and where it keeps accepted
/// asynchronous work.
#[derive(Default)]
pub struct Router {
    /// Which hooks run for which event.
    pub(crate) routes: Table,
    /// Where accepted asynchronous events are kept until done.
    pub(crate) keeper: Keeper,
}

impl Router {
    /// Run an fs event's hooks now and decide, in the contract of the SFTPGo
    /// release it came from.
    pub async fn run_fs(&self, event: &FsEvent, contract: Contract) -> Outcome {
        let hooks = self.routes.fs_hooks(event.action);
        match event.action {
            FsAction::PreUpload | FsAction::PreDownload => run_pre(hooks, event, contract).await,
            FsAction::PreDelete if contract.has(Change::PreDeleteCanDeny) => {
                run_pre(hooks, event, contract).await.pre_delete()
            }
            FsAction::PreDelete => run_legacy_pre_delete(hooks, event, contract)
                .await
                .pre_delete(),
            _ => run_notification(hooks, EventRef::Fs(event), contract).await,
        }
    }

    /// The outcome of a synchronous event whose hooks did not answer within
    /// `limit` (and were stopped): their failure, as the event's action
    /// reads one.
    pub(crate) fn unanswered(
        event: &FsEvent,
        contract: Contract,
        limit: std::time::Duration,
    ) -> Outcome {
        let reason = format!(
            "no answer within {} ms (below SFTPGo's per-attempt http.timeout); the hooks still running were stopped",
            limit.as_millis()
        );
        tracing::warn!(action = %event.action, username = %event.username, %reason, "synchronous event unanswered");
        let decision = match event.action {
            FsAction::PreDelete if !contract.has(Change::PreDeleteCanDeny) => Decision::Allow,
            action if action.is_pre() => Decision::Deny(reason),
            _ => Decision::Failed(reason),
        };
        let outcome = Outcome::new(decision, Vec::new(), contract);
        if event.action == FsAction::PreDelete {
            outcome.pre_delete()
        } else {
            outcome
        }
    }

    /// Queue an fs event for its hooks' lanes (waiting while a lane is
    /// full): [`Decision::Queued`], or [`Decision::Failed`] when the host
    /// is shutting down.
    pub(crate) async fn queue_fs(&self, event: FsEvent, contract: Contract) -> Decision {
        let routes = self.routes.fs_hooks(event.action).to_vec();
        let entry = |id: &str| record::encode_fs(&event, contract, id);
        let entry = self.keeper.keep(&routes, entry).await;
        accepted(routes, EventBox::Fs(Arc::new(event)), contract, entry).await
    }

    /// Queue again, for the hooks configured now, the journal's entries
    /// found unfinished at start (read before the host took any event).
    pub(crate) async fn replay(&self, pending: Vec<(u64, record::Decoded)>) {
        let Some(journal) = &self.keeper.journal else {
            return;
        };
        let mut replayed = 0;
        for (id, decoded) in pending {
            let (routes, event, contract) = match decoded.record {
                Record::Fs(event, contract) => (
                    self.routes.fs_hooks(event.action).to_vec(),
                    EventBox::Fs(Arc::new(*event)),
                    contract,
                ),
                Record::Provider(event, contract) => (
                    self.routes.provider_hooks(&event).cloned().collect(),
                    EventBox::Provider(Arc::new(event)),
                    contract,
                ),
                Record::Login(event, contract) => (
                    self.routes.login.hooks_for(&event).to_vec(),
                    EventBox::Login(Arc::new(*event)),
                    contract,
                ),
            };
            if routes.is_empty() {
                tracing::warn!(
                    id,
                    "a journaled event has no hook configured any more; dropped"
                );
                journal.remove(crate::journal::Table::Records, id);
                continue;
            }
            let ticket = Ticket::new(journal.clone(), id, routes.len());
            if queue(routes, event, contract, Some(ticket), Some(decoded.id)).await
                != Decision::Queued
            {
                return;
            }
            replayed += 1;
        }
        journal.replayed(replayed, "events");
    }

    /// Queue a provider event for its hooks' lanes.
    pub(crate) async fn queue_provider(
        &self,
        event: ProviderEvent,
        contract: Contract,
    ) -> Decision {
        let routes: Vec<Route> = self.routes.provider_hooks(&event).cloned().collect();
        let entry = |id: &str| record::encode_provider(&event, contract, id);
        let entry = self.keeper.keep(&routes, entry).await;
        accepted(routes, EventBox::Provider(Arc::new(event)), contract, entry).await
    }

    /// Queue a login event (post-login, post-disconnect) for its hooks'
    /// lanes.
    pub(crate) async fn queue_login(&self, event: LoginEvent, contract: Contract) -> Decision {
        let routes = self.routes.login.hooks_for(&event).to_vec();
        let entry = |id: &str| record::encode_login(&event, contract, id).unwrap_or_default();
        let entry = self.keeper.keep(&routes, entry).await;
        accepted(routes, EventBox::Login(Arc::new(event)), contract, entry).await
    }

    /// Asynchronous jobs queued or running, all lanes.
    pub(crate) fn in_flight(&self) -> usize {
        self.routes
            .lanes()
            .iter()
            .map(|lane| lane.in_flight())
            .sum()
    }

    /// Stop taking asynchronous work and wait for every lane to drain;
    /// then the journal's removals are made durable. With a shared queue,
    /// this node stops pulling and finishes what it holds.
    pub(crate) async fn shutdown(&self) {
        if let Some(remote) = &self.keeper.remote {
            remote.stop().await;
        }
        for lane in self.routes.lanes() {
            lane.shutdown().await;
        }
        if let Some(journal) = &self.keeper.journal {
            journal.flush().await;
        }
    }

    /// Run a provider event's hooks now.
    pub async fn run_provider(&self, event: &ProviderEvent, contract: Contract) -> Outcome {
        run_notification(
            self.routes.provider_hooks(event),
            EventRef::Provider(event),
            contract,
        )
        .await
    }
}

/// An event owned by queued jobs.
#[derive(Clone)]
enum EventBox {
    Fs(Arc<FsEvent>),
    Provider(Arc<ProviderEvent>),
    Login(Arc<LoginEvent>),
}

impl EventBox {
    fn as_ref(&self) -> EventRef<'_> {
        match self {
            EventBox::Fs(event) => EventRef::Fs(event),
            EventBox::Provider(event) => EventRef::Provider(event),
            EventBox::Login(event) => EventRef::Login(event),
        }
    }
}

/// Queue a kept event in the local lanes.
async fn accepted(routes: Vec<Route>, event: EventBox, contract: Contract, kept: Kept) -> Decision {
    match kept {
        Kept::Done(decision) => decision,
        Kept::Here(id, ticket) => queue(routes, event, contract, ticket, Some(id)).await,
    }
}

/// One job per hook, each in the hook's own lane, under the event's `id`;
/// the last to finish clears the event's journal entry (`ticket`).
async fn queue(
    routes: Vec<Route>,
    event: EventBox,
    contract: Contract,
    ticket: Option<Arc<Ticket>>,
    id: Option<Arc<str>>,
) -> Decision {
    for route in routes {
        let lane = route.lane.clone();
        let event = event.clone();
        let ticket = ticket.clone();
        let id = id.clone();
        let job = Box::pin(async move {
            let run = run_hook(&route, event.as_ref(), &contract);
            match id {
                Some(id) => crate::event::id::with(id, run).await,
                None => run.await,
            };
            if let Some(ticket) = ticket {
                ticket.done();
            }
        });
        if lane.submit(job).await.is_err() {
            return Decision::Failed("the host is shutting down".into());
        }
    }
    Decision::Queued
}

/// Run one hook, contain a panic, time it and log its result.
async fn run_hook(route: &Route, event: EventRef<'_>, contract: &Contract) -> HookReport {
    let hook = &route.hook;
    let start = Instant::now();
    let result = AssertUnwindSafe(hook.call(event, contract))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(Failure::Error("the hook implementation panicked".into())));
    let report = HookReport {
        hook: route.name.clone(),
        kind: hook.kind(),
        result,
        duration: start.elapsed(),
    };
    route.metrics.record(&report.result, report.duration);
    log_report(&report, event);
    report
}

fn log_report(report: &HookReport, event: EventRef<'_>) {
    // A deny decides a pre-* action or a login; for a notification (the
    // WIT's `error`) it is a failure, logged as one.
    let (action, username, decides) = match event {
        EventRef::Fs(ev) => (ev.action.as_str(), ev.username.as_str(), ev.action.is_pre()),
        EventRef::Provider(ev) => (ev.action.as_str(), ev.object_name.as_str(), false),
        EventRef::Login(ev) => (ev.hook().as_str(), ev.username(), ev.hook().synchronous()),
    };
    let hook = &*report.hook;
    let kind = report.kind.as_str();
    let duration_us = report.duration.as_micros() as u64;
    match &report.result {
        Ok(Answer::Allow) => tracing::debug!(
            hook,
            kind,
            action,
            username,
            outcome = "allow",
            duration_us,
            "hook ran"
        ),
        Ok(Answer::Handled) => tracing::debug!(
            hook,
            kind,
            action,
            username,
            outcome = "handled",
            duration_us,
            "hook ran"
        ),
        Ok(Answer::Reply(answer)) => tracing::debug!(
            hook,
            kind,
            action,
            username,
            outcome = "reply",
            answer_bytes = answer.len(),
            duration_us,
            "hook ran"
        ),
        Ok(Answer::Deny(reason)) if decides => {
            tracing::info!(hook, kind, action, username, outcome = "deny", reason = %reason, duration_us, "hook ran")
        }
        Ok(Answer::Deny(reason)) => {
            tracing::warn!(hook, kind, action, username, outcome = "deny", reason = %reason, duration_us, "hook failed")
        }
        Err(failure) => tracing::warn!(
            hook, kind, action, username, outcome = failure.label(), error = %failure, duration_us, "hook failed"
        ),
    }
}

/// `pre-upload`, `pre-download`, and today's `pre-delete`: the first hook
/// that does not allow decides; a `handled` (a pre-delete hook that removed
/// the file itself) ends the run, allowed.
async fn run_pre(hooks: &[Route], event: &FsEvent, contract: Contract) -> Outcome {
    let mut reports = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let report = run_hook(hook, EventRef::Fs(event), &contract).await;
        let decided = match &report.result {
            Ok(Answer::Allow | Answer::Reply(_)) => None,
            Ok(Answer::Handled) if event.action == FsAction::PreDelete => Some(Decision::Handled),
            Ok(Answer::Handled) => None,
            Ok(Answer::Deny(reason)) => Some(Decision::Deny(format!("{}: {reason}", report.hook))),
            Err(failure) => Some(Decision::Deny(format!("{}: {failure}", report.hook))),
        };
        reports.push(report);
        if let Some(decision) = decided {
            return Outcome::new(decision, reports, contract);
        }
    }
    Outcome::new(Decision::Allow, reports, contract)
}

/// The reference's `pre-delete`: "handled" or not; it cannot be refused.
async fn run_legacy_pre_delete(hooks: &[Route], event: &FsEvent, contract: Contract) -> Outcome {
    let mut reports = Vec::with_capacity(hooks.len());
    let mut decision = Decision::Allow;
    for hook in hooks {
        let report = run_hook(hook, EventRef::Fs(event), &contract).await;
        let handled = matches!(report.result, Ok(Answer::Handled));
        if matches!(report.result, Ok(Answer::Deny(_))) && report.kind == HookKind::Wasm {
            tracing::warn!(
                hook = %report.hook,
                %contract,
                "a pre-delete hook cannot refuse a delete before SFTPGo 2.5; the server deletes the file"
            );
        }
        reports.push(report);
        if handled {
            decision = Decision::Handled;
            break;
        }
    }
    Outcome::new(decision, reports, contract)
}

async fn run_notification<'a>(
    hooks: impl IntoIterator<Item = &'a Route>,
    event: EventRef<'_>,
    contract: Contract,
) -> Outcome {
    let reports = futures::future::join_all(
        hooks
            .into_iter()
            .map(|hook| run_hook(hook, event, &contract)),
    )
    .await;
    let problems: Vec<String> = reports
        .iter()
        .filter_map(|r| match &r.result {
            Ok(Answer::Allow | Answer::Handled | Answer::Reply(_)) => None,
            Ok(Answer::Deny(reason)) => Some(format!("{}: {reason}", r.hook)),
            Err(failure) => Some(format!("{}: {failure}", r.hook)),
        })
        .collect();
    let decision = if problems.is_empty() {
        Decision::Allow
    } else {
        Decision::Failed(problems.join("; "))
    };
    Outcome::new(decision, reports, contract)
}

#[cfg(test)]
mod tests {
    //! The dispatch rules with in-memory hooks: no process, no component.

    use std::path::Path;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use crate::config::Config;
    use crate::dispatch::{Decision, Reply};
    use crate::event::{Contract, FsAction, FsEvent, Protocol};
    use crate::hook::{Answer, EventRef, Failure, Hook, HookKind, HookResult};
    use crate::host::Host;

    /// A hook that always answers the same.
    struct Fixed(Answer);

    #[async_trait::async_trait]
    impl Hook for Fixed {
        fn name(&self) -> &str {
            "fixed"
        }
        fn kind(&self) -> HookKind {
            HookKind::Native
        }
        async fn call(&self, _: EventRef<'_>, _: &Contract) -> HookResult {
            Ok(self.0.clone())
        }
    }

    async fn host(version: &str, hook: Option<Answer>) -> Host {
        let config = Config::from_value(
            json!({"hookhost": {"sftpgo_version": version, "cache_dir": ""}}),
            Path::new("/"),
        )
        .unwrap();
        let mut builder = Host::builder(config);
        if let Some(answer) = hook {
            builder = builder.fs_hook(Fixed(answer), &[FsAction::PreDelete]);
        }
        builder.build().await.unwrap()
    }

    fn pre_delete(role: Option<&str>, today: bool) -> FsEvent {
        let mut event = FsEvent::new(FsAction::PreDelete, "u", "/srv/u/f", Protocol::Sftp);
        if today {
            event.virtual_path = Some("/f".into());
            event.timestamp = Some(1);
        }
        event.role = role.map(str::to_owned);
        event
    }

    async fn reply(version: &str, hook: Option<Answer>, event: FsEvent) -> Reply {
        let host = host(version, hook).await;
        let reply = host.dispatch(event).await.reply();
        host.shutdown().await;
        reply
    }

    #[tokio::test]
    async fn a_pre_delete_without_a_hook_lets_each_release_delete_the_file() {
        // Before 2.5, success means "handled": SFTPGo would neither delete
        // the file nor fire `delete`.
        for version in ["2.1", "2.2", "2.4.6"] {
            let event = pre_delete(None, version != "2.1");
            assert_eq!(
                reply(version, None, event).await,
                Reply::NotHandled,
                "{version}"
            );
        }
        for version in ["2.5", "2.7.5"] {
            assert_eq!(
                reply(version, None, pre_delete(None, true)).await,
                Reply::Success
            );
        }
        assert_eq!(
            reply("auto", None, pre_delete(None, false)).await,
            Reply::NotHandled,
            "the reference's form"
        );
    }

    #[tokio::test]
    async fn auto_never_answers_an_undatable_pre_delete_as_handled() {
        let allow = Some(Answer::Allow);
        assert_eq!(
            reply("auto", allow.clone(), pre_delete(None, true)).await,
            Reply::Undated,
            "2.2-2.4 and 2.5+ send this same body"
        );
        assert_eq!(
            reply("auto", None, pre_delete(None, true)).await,
            Reply::Undated
        );
        assert_eq!(
            reply("auto", allow.clone(), pre_delete(Some("staff"), true)).await,
            Reply::Success,
            "a role proves 2.5+"
        );
        // What every release reads alike is answered as it is.
        assert_eq!(
            reply("auto", Some(Answer::Handled), pre_delete(None, true)).await,
            Reply::Success
        );
        assert_eq!(
            reply(
                "auto",
                Some(Answer::Deny("no".into())),
                pre_delete(None, true)
            )
            .await,
            Reply::Denied
        );
    }

    /// A hook named `name` answering `answer`, counting its calls.
    struct Counted {
        name: &'static str,
        answer: HookResult,
        calls: Arc<AtomicUsize>,
    }

    #[async_trait::async_trait]
    impl Hook for Counted {
        fn name(&self) -> &str {
            self.name
        }
        fn kind(&self) -> HookKind {
            HookKind::Native
        }
        async fn call(&self, _: EventRef<'_>, _: &Contract) -> HookResult {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.answer.clone()
        }
    }

    /// A host running `hooks` (name, answer) in that order on `actions`,
    /// with `execute_sync`; the calls of each.
    async fn counted(
        hooks: &[(&'static str, HookResult)],
        actions: &[FsAction],
        execute_sync: &[&str],
    ) -> (Host, Vec<Arc<AtomicUsize>>) {
        let config = Config::from_value(
            json!({"common": {"actions": {"execute_sync": execute_sync}},
                   "hookhost": {"cache_dir": ""}}),
            Path::new("/"),
        )
        .unwrap();
        let mut builder = Host::builder(config);
        let mut calls = Vec::new();
        for (name, answer) in hooks {
            let count = Arc::new(AtomicUsize::new(0));
            calls.push(count.clone());
            builder = builder.fs_hook(
                Counted {
                    name,
                    answer: answer.clone(),
                    calls: count,
                },
                actions,
            );
        }
        (builder.build().await.unwrap(), calls)
    }

    fn count(calls: &[Arc<AtomicUsize>]) -> Vec<usize> {
        calls.iter().map(|c| c.load(Ordering::SeqCst)).collect()
    }

    fn event(action: FsAction) -> FsEvent {
        FsEvent::new(action, "u", "/srv/u/f", Protocol::Sftp)
    }

    #[tokio::test]
    async fn the_first_pre_hook_that_does_not_allow_decides_and_the_rest_do_not_run() {
        let (host, calls) = counted(
            &[
                ("a", Ok(Answer::Allow)),
                ("b", Ok(Answer::Deny("no".into()))),
                ("c", Ok(Answer::Allow)),
            ],
            &[FsAction::PreUpload],
            &[],
        )
        .await;
        let outcome = host.dispatch(event(FsAction::PreUpload)).await;
        assert_eq!(outcome.decision, Decision::Deny("b: no".into()));
        assert_eq!(outcome.reports.len(), 2);
        assert_eq!(count(&calls), [1, 1, 0]);
        // Hooks run on their actions only.
        let other = host.dispatch(event(FsAction::PreDownload)).await;
        assert_eq!(other.decision, Decision::Allow);
        assert!(other.reports.is_empty());
        assert_eq!(count(&calls), [1, 1, 0]);
        host.shutdown().await;
    }

    #[tokio::test]
    async fn a_failing_pre_hook_denies_naming_the_hook_and_the_failure() {
        let (host, _) = counted(
            &[("broken", Err(Failure::Error("exit status 3".into())))],
            &[FsAction::PreUpload],
            &[],
        )
        .await;
        let outcome = host.dispatch(event(FsAction::PreUpload)).await;
        let Decision::Deny(reason) = &outcome.decision else {
            panic!("{:?}", outcome.decision)
        };
        assert!(reason.starts_with("broken: "), "{reason}");
        assert_eq!(outcome.reply(), Reply::Denied);
        host.shutdown().await;
    }

    #[tokio::test]
    async fn a_notification_is_queued_unless_in_execute_sync_then_its_hooks_answer() {
        let hooks = [
            ("ok", Ok(Answer::Allow)),
            ("failing", Err(Failure::Error("down".into()))),
        ];
        let (host, calls) = counted(&hooks, &[FsAction::Upload], &[]).await;
        let queued = host.dispatch(event(FsAction::Upload)).await;
        assert_eq!(queued.decision, Decision::Queued);
        // Every hook runs (in the background), a failure stops none.
        let waited = host.dispatch(event(FsAction::Upload)).wait_for_all().await;
        assert!(matches!(waited.decision, Decision::Failed(_)), "{waited:?}");
        host.shutdown().await;
        assert_eq!(count(&calls), [2, 2]);

        let (host, calls) = counted(&hooks, &[FsAction::Upload], &["upload"]).await;
        let sync = host.dispatch(event(FsAction::Upload)).await;
        assert_eq!(sync.decision, Decision::Failed("failing: down".into()));
        assert_eq!(sync.reply(), Reply::Failed);
        assert_eq!(count(&calls), [1, 1], "both ran before the answer");
        host.shutdown().await;
    }
}
