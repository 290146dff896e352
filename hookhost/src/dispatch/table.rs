//! The routing table: which hooks run for which event. Built once with the
//! host, then only read.

use std::sync::Arc;

use super::Route;
use super::login::LoginRouter;
use super::pool::AsyncPool;
use crate::event::{FsAction, ObjectType, ProviderAction, ProviderEvent};

/// Which hooks run for which event.
#[derive(Default)]
pub(crate) struct Table {
    fs: [Vec<Route>; FsAction::ALL.len()],
    sync: [bool; FsAction::ALL.len()],
    provider: [Vec<(Route, Vec<ObjectType>)>; ProviderAction::ALL.len()],
    /// Login and connection hooks.
    pub(crate) login: LoginRouter,
}

impl Table {
    /// Run `route` on `actions`.
    pub(crate) fn add_fs(&mut self, route: Route, actions: &[FsAction]) {
        for action in actions {
            self.fs[action.index()].push(route.clone());
        }
    }

    /// Make the hooks of a non-`pre-*` action synchronous.
    pub(crate) fn set_sync(&mut self, action: FsAction) {
        self.sync[action.index()] = true;
    }

    /// Run `hook` on `actions` for the object types `objects`.
    pub(crate) fn add_provider(
        &mut self,
        route: Route,
        actions: &[ProviderAction],
        objects: &[ObjectType],
    ) {
        for action in actions {
            self.provider[action.index()].push((route.clone(), objects.to_vec()));
        }
    }

    /// The hooks configured for an fs action.
    pub(crate) fn fs_hooks(&self, action: FsAction) -> &[Route] {
        &self.fs[action.index()]
    }

    /// Whether the caller waits for this action's hooks.
    pub(crate) fn is_sync(&self, action: FsAction) -> bool {
        action.is_pre() || self.sync[action.index()]
    }

    /// The hooks configured for a provider event (none for internal updates).
    pub(crate) fn provider_hooks<'a>(
        &'a self,
        event: &'a ProviderEvent,
    ) -> impl Iterator<Item = &'a Route> + 'a {
        let hooks: &[_] = if event.internal {
            &[]
        } else {
            &self.provider[event.action.index()]
        };
        hooks
            .iter()
            .filter(|(_, objects)| objects.contains(&event.object_type))
            .map(|(hook, _)| hook)
    }

    /// Whether any hook at all would run for this provider event.
    pub(crate) fn has_provider_hooks(&self, event: &ProviderEvent) -> bool {
        self.provider_hooks(event).next().is_some()
    }

    /// Every lane, once.
    pub(crate) fn lanes(&self) -> Vec<Arc<AsyncPool>> {
        let mut lanes: Vec<Arc<AsyncPool>> = Vec::new();
        let routes = self
            .fs
            .iter()
            .flatten()
            .chain(self.provider.iter().flatten().map(|(route, _)| route))
            .chain(self.login.routes());
        for route in routes {
            if !lanes.iter().any(|lane| Arc::ptr_eq(lane, &route.lane)) {
                lanes.push(route.lane.clone());
            }
        }
        lanes
    }

    /// The fs, provider or queued login hook named `name`.
    pub(crate) fn route_named(&self, name: &str) -> Option<&Route> {
        self.fs
            .iter()
            .flatten()
            .chain(self.provider.iter().flatten().map(|(route, _)| route))
            .chain(self.login.routes())
            .find(|route| &*route.name == name)
    }
}
