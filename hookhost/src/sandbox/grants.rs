//! Capabilities a guest may be granted. Nothing is granted by default: no
//! filesystem, no environment, no arguments but its name, no network, no
//! inherited stdio. Each grant below maps to one `WasiCtxBuilder` call in
//! [`builder`] or [`Wasi::new`], the only places a guest's WASI context is
//! built.
//!
//! Directory grants are cap-std preopens: the guest can reach nothing
//! outside them, whether through `..`, absolute paths or symlinks; the
//! symlinks it may create and the bytes it may write in a writable grant are
//! further bounded by [`super::fsguard`].

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::WasiCliCtxView;
use wasmtime_wasi::p2::bindings::cli::environment;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::outbound::NetGate;
use super::output::OutputCapture;
use crate::config::Grants;

/// A guest's WASI context: built when the guest first calls a WASI
/// function, so a hook that never does (one reading only its event, most
/// `no_std` guests) does not pay for it on every event. A hook granted
/// directories gets its context at once: opening them can fail, and that
/// failure is the store's, reported before the guest runs.
// One per store, inside its data: boxing the context would add an
// allocation to every store that builds one.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Wasi {
    Ready(WasiCtx),
    Deferred(Recipe),
}

/// What a deferred context is built from.
pub(crate) struct Recipe {
    name: Arc<str>,
    grants: Arc<Grants>,
    stdout: OutputCapture,
    stderr: OutputCapture,
    gate: Arc<NetGate>,
}

impl Wasi {
    /// The context for `grants`, deferred unless it opens directories.
    pub(crate) fn new(
        name: &Arc<str>,
        grants: &Arc<Grants>,
        stdout: &OutputCapture,
        stderr: &OutputCapture,
        gate: &Arc<NetGate>,
    ) -> std::io::Result<Self> {
        if grants.dirs.is_empty() {
            return Ok(Wasi::Deferred(Recipe {
                name: name.clone(),
                grants: grants.clone(),
                stdout: stdout.clone(),
                stderr: stderr.clone(),
                gate: gate.clone(),
            }));
        }
        let mut builder = builder(name, grants, stdout, stderr, gate);
        for dir in &grants.dirs {
            let perms = if dir.writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            builder
                .preopened_dir(&dir.host, &dir.guest, perms)
                .map_err(|err| std::io::Error::other(format!("{}: {err:#}", dir.host.display())))?;
        }
        Ok(Wasi::Ready(builder.build()))
    }

    /// The context, built now if it was deferred.
    pub(crate) fn get(&mut self) -> &mut WasiCtx {
        if let Wasi::Deferred(recipe) = self {
            let ctx = builder(
                &recipe.name,
                &recipe.grants,
                &recipe.stdout,
                &recipe.stderr,
                &recipe.gate,
            )
            .build();
            *self = Wasi::Ready(ctx);
        }
        match self {
            Wasi::Ready(ctx) => ctx,
            Wasi::Deferred(_) => unreachable!("built above"),
        }
    }

    /// Whether the context has been built.
    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        matches!(self, Wasi::Ready(_))
    }
}

/// Build a guest's WASI context from its grants but for its directories:
/// the one place that decides what a guest can reach.
fn builder(
    name: &str,
    grants: &Grants,
    stdout: &OutputCapture,
    stderr: &OutputCapture,
    gate: &Arc<NetGate>,
) -> WasiCtxBuilder {
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(&arguments(name, grants))
        .envs(&environment(grants));
    // TCP connects to the granted addresses only (and the implicit bind
    // of a connect), within the call's cap and the host's descriptor
    // budget; no listening, no UDP, no name lookups.
    let granted = grants.tcp.clone();
    let gate = gate.clone();
    builder
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_tcp(!granted.is_empty())
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(move |addr, use_| {
            let allowed = match use_ {
                SocketAddrUse::TcpConnect => {
                    let granted = granted.iter().any(|g| g.0 == addr);
                    if !granted {
                        tracing::warn!(address = %addr, "outbound TCP connection refused (not granted)");
                        gate.failed(format!("TCP connect to {addr} refused (not_granted): {addr} is not among the hook's grants.tcp"));
                    }
                    granted && gate.tcp_connect(addr)
                }
                SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                _ => false,
            };
            Box::pin(async move { allowed })
        });
    builder
}

/// A guest's arguments: its name, then the granted ones.
fn arguments(name: &str, grants: &Grants) -> Vec<String> {
    std::iter::once(name.to_owned())
        .chain(grants.args.iter().cloned())
        .collect()
}

/// A guest's environment: the granted variables only.
fn environment(grants: &Grants) -> Vec<(String, String)> {
    grants
        .env
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// `wasi:cli/environment` for one guest: answered from its grants while its
/// context is deferred — a guest reading only its arguments and environment
/// (how most hooks get their configuration) never has the context built —
/// and by the context once it is.
pub(crate) struct CliEnvironment<'a> {
    pub(crate) wasi: &'a mut Wasi,
    pub(crate) table: &'a mut ResourceTable,
}

impl environment::Host for CliEnvironment<'_> {
    fn get_environment(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        match &mut *self.wasi {
            Wasi::Deferred(recipe) => Ok(environment(&recipe.grants)),
            Wasi::Ready(ctx) => cli(ctx, self.table).get_environment(),
        }
    }

    fn get_arguments(&mut self) -> wasmtime::Result<Vec<String>> {
        match &mut *self.wasi {
            Wasi::Deferred(recipe) => Ok(arguments(&recipe.name, &recipe.grants)),
            Wasi::Ready(ctx) => cli(ctx, self.table).get_arguments(),
        }
    }

    fn initial_cwd(&mut self) -> wasmtime::Result<Option<String>> {
        match &mut *self.wasi {
            // The builder sets none.
            Wasi::Deferred(_) => Ok(None),
            Wasi::Ready(ctx) => cli(ctx, self.table).initial_cwd(),
        }
    }
}

/// A built context's CLI part, which answers as wasmtime-wasi does.
fn cli<'a>(ctx: &'a mut WasiCtx, table: &'a mut ResourceTable) -> WasiCliCtxView<'a> {
    WasiCliCtxView {
        ctx: ctx.cli(),
        table,
    }
}

struct HasCliEnvironment;

impl HasData for HasCliEnvironment {
    type Data<'a> = CliEnvironment<'a>;
}

/// Shadow wasmtime-wasi's `wasi:cli/environment` in `linker` with
/// [`CliEnvironment`].
pub(crate) fn add_environment_to_linker(linker: &mut Linker<super::State>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    environment::add_to_linker::<_, HasCliEnvironment>(linker, |state| CliEnvironment {
        wasi: &mut state.wasi,
        table: &mut state.table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DirGrant;

    fn wasi(grants: Grants) -> std::io::Result<Wasi> {
        let out = OutputCapture::new(1024);
        let gate = NetGate::new(
            Arc::from("hook"),
            Arc::new(tokio::sync::Semaphore::new(64)),
            1,
            1,
            Arc::default(),
        );
        Wasi::new(&Arc::from("hook"), &Arc::new(grants), &out, &out, &gate)
    }

    fn dir(host: &std::path::Path) -> DirGrant {
        DirGrant {
            host: host.to_owned(),
            guest: "/data".into(),
            writable: false,
            quota_mib: None,
        }
    }

    #[test]
    fn a_context_without_directories_is_built_on_first_use() {
        let mut wasi = wasi(Grants {
            args: vec!["exe".into()],
            ..Grants::default()
        })
        .unwrap();
        assert!(!wasi.is_built());
        wasi.get();
        assert!(wasi.is_built());
    }

    #[test]
    fn arguments_and_environment_are_answered_without_building_the_context_and_as_it_would() {
        use environment::Host;
        let mut wasi = wasi(Grants {
            args: vec!["exe".into(), "bat".into()],
            env: [("B".into(), "2".into()), ("A".into(), "1".into())].into(),
            ..Grants::default()
        })
        .unwrap();
        let mut table = ResourceTable::new();
        let mut answers = |wasi: &mut Wasi| {
            let mut env = CliEnvironment {
                wasi,
                table: &mut table,
            };
            (
                env.get_arguments().unwrap(),
                env.get_environment().unwrap(),
                env.initial_cwd().unwrap(),
            )
        };
        let deferred = answers(&mut wasi);
        assert!(!wasi.is_built(), "reading them builds nothing");
        assert_eq!(deferred.0, ["hook", "exe", "bat"]);
        assert_eq!(
            deferred.1,
            [("A".into(), "1".into()), ("B".into(), "2".into())]
        );
        wasi.get();
        assert_eq!(
            answers(&mut wasi),
            deferred,
            "the built context says the same"
        );
    }

    #[test]
    fn directories_are_opened_at_once_and_a_missing_one_is_named() {
        let here = std::env::temp_dir();
        let granted = wasi(Grants {
            dirs: vec![dir(&here)],
            ..Grants::default()
        })
        .unwrap();
        assert!(granted.is_built());
        let missing = here.join("hookhost-no-such-directory");
        let err = wasi(Grants {
            dirs: vec![dir(&missing)],
            ..Grants::default()
        })
        .err()
        .expect("a missing directory is refused");
        assert!(
            err.to_string().contains("hookhost-no-such-directory"),
            "{err}"
        );
    }
}
