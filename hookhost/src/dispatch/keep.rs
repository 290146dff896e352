//! Where accepted asynchronous work is kept until its hooks are done: the
//! journal (on disk), the queue shared with other nodes, or memory only.

use std::sync::Arc;

use super::remote::Remote;
use super::{Decision, Route};
use crate::journal::{Journal, Table, Ticket};
use crate::queue::NatsQueue;

/// The keeper of accepted events.
#[derive(Default)]
pub(crate) struct Keeper {
    /// Where accepted asynchronous events are kept until done, if anywhere.
    pub(crate) journal: Option<Arc<Journal>>,
    /// The queue shared with other nodes, if any: replaces the local lanes
    /// (and the journal) for fs and provider events.
    pub(crate) remote: Option<Remote>,
}

/// Where an accepted event went: published (or refused) — nothing more to
/// do here — or to be queued here under its id, with its journal ticket.
pub(crate) enum Kept {
    /// Nothing more to do here: published, or refused.
    Done(Decision),
    /// To queue here, under its id, with its journal ticket.
    Here(Arc<str>, Option<Arc<Ticket>>),
}

impl Keeper {
    /// Give an accepted event an id and keep it where this host keeps
    /// accepted work: the shared queue (then it is done here), the journal,
    /// or nowhere (memory only).
    pub(crate) async fn keep(&self, routes: &[Route], entry: impl FnOnce(&str) -> Vec<u8>) -> Kept {
        let id = crate::event::id::new_id();
        if let Some(remote) = &self.remote {
            return Kept::Done(publish(&remote.queue, routes, &entry(&id)).await);
        }
        match self.journaled(routes, || entry(&id)).await {
            Ok(ticket) => Kept::Here(id, ticket),
            Err(decision) => Kept::Done(decision),
        }
    }

    /// With a journal, write the event's entry before it counts as
    /// accepted: its ticket, or the failure to tell the caller.
    async fn journaled(
        &self,
        routes: &[Route],
        entry: impl FnOnce() -> Vec<u8>,
    ) -> Result<Option<Arc<Ticket>>, Decision> {
        let Some(journal) = &self.journal else {
            return Ok(None);
        };
        if routes.is_empty() {
            return Ok(None);
        }
        match journal.append(Table::Records, entry()).await {
            Ok(id) => Ok(Some(Ticket::new(journal.clone(), id, routes.len()))),
            Err(error) => Err(Decision::Failed(format!(
                "cannot keep the event for its hooks: {error}"
            ))),
        }
    }
}

/// Publish an event for its hooks on the shared queue: accepted once
/// JetStream stored it.
async fn publish(queue: &NatsQueue, routes: &[Route], entry: &[u8]) -> Decision {
    if routes.is_empty() {
        return Decision::Queued;
    }
    let hooks: Vec<&str> = routes.iter().map(|route| &*route.name).collect();
    match queue.publish(&hooks, entry).await {
        Ok(()) => Decision::Queued,
        Err(error) => Decision::Failed(format!("cannot queue the event for its hooks: {error}")),
    }
}
