//! One `sftpgo.json` for SFTPGo and hookhost: SFTPGo's `hook` points at
//! hookhost (its `serve` URL, or the `hookhost-exec` program), and the same
//! file gives hookhost its own `hooks`. hookhost must then not run that
//! `hook` itself: it would call itself, forever or until a client gave up.
//!
//! [`LoopGuard`] knows what "this hookhost" is — the running binary, and the
//! address `serve` listens on — and tells whether a hook points at it.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::config::HookTarget;

/// What this hookhost is, to recognise a hook that points back at it.
#[derive(Clone, Debug, Default)]
pub struct LoopGuard {
    exe: Option<PathBuf>,
    listen: Option<SocketAddr>,
}

impl LoopGuard {
    /// The running program (every hookhost process), and no listener.
    pub fn for_this_process() -> Self {
        LoopGuard {
            exe: std::env::current_exe()
                .ok()
                .and_then(|exe| exe.canonicalize().ok()),
            listen: None,
        }
    }

    /// The address `serve` listens on.
    pub fn listening_on(mut self, address: SocketAddr) -> Self {
        self.listen = Some(address);
        self
    }

    /// Why `target` is this hookhost itself, if it is.
    pub fn points_at_self(&self, target: &HookTarget) -> Option<String> {
        match target {
            HookTarget::Exec(program) => self
                .is_this_program(program)
                .then(|| format!("{} is this hookhost's own program", program.display())),
            HookTarget::Http(url) => self
                .is_this_listener(url)
                .then(|| format!("{url} is this hookhost's own listener")),
            HookTarget::Wasm(_) | HookTarget::Oci(_) => None,
        }
    }

    fn is_this_program(&self, program: &Path) -> bool {
        let Some(exe) = &self.exe else {
            return false;
        };
        program.canonicalize().is_ok_and(|p| &p == exe)
    }

    fn is_this_listener(&self, url: &Url) -> bool {
        self.is_this_listener_resolving(url, resolve)
    }

    /// [`Self::is_this_listener`], with names resolved by `resolve`: a URL
    /// is this hookhost when its port is the listener's and any address
    /// its host stands for is one the listener answers on — whatever the
    /// spelling (`localhost`, the machine's name, a container's service
    /// name resolving to this container).
    fn is_this_listener_resolving(
        &self,
        url: &Url,
        resolve: impl Fn(&str, u16) -> Vec<IpAddr>,
    ) -> bool {
        let Some(listen) = self.listen else {
            return false;
        };
        let port = listen.port();
        if url.port_or_known_default() != Some(port) {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addresses = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                let name = bare.to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    return listen.ip().is_loopback() || listen.ip().is_unspecified();
                }
                resolve(&name, port)
            }
        };
        addresses.into_iter().any(|ip| {
            ip == listen.ip()
                || ip.is_loopback() && (listen.ip().is_loopback() || listen.ip().is_unspecified())
                || listen.ip().is_unspecified() && is_local_address(ip)
        })
    }
}

/// The addresses `name` resolves to (none when it does not).
fn resolve(name: &str, port: u16) -> Vec<IpAddr> {
    use std::net::ToSocketAddrs;
    (name, port)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .unwrap_or_default()
}

/// Whether `ip` is an address of this machine: binding to it only works if
/// it is.
fn is_local_address(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind((ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> HookTarget {
        HookTarget::Http(Url::parse(text).unwrap())
    }

    #[test]
    fn a_url_at_the_listener_is_this_hookhost() {
        let guard = LoopGuard::default().listening_on("127.0.0.1:8765".parse().unwrap());
        assert!(
            guard
                .points_at_self(&url("http://127.0.0.1:8765/v1/actions/fs"))
                .is_some()
        );
        assert!(
            guard
                .points_at_self(&url("http://localhost:8765/v1/actions/fs"))
                .is_some()
        );
        assert!(
            guard
                .points_at_self(&url("http://127.0.0.1:9000/"))
                .is_none()
        );
        assert!(
            guard
                .points_at_self(&url("http://10.9.9.9:8765/"))
                .is_none()
        );
        let any = LoopGuard::default().listening_on("0.0.0.0:8765".parse().unwrap());
        assert!(any.points_at_self(&url("http://127.0.0.2:8765/")).is_some());
        assert!(any.points_at_self(&url("http://192.0.2.1:8765/")).is_none());
    }

    #[test]
    fn a_name_resolving_to_the_listener_is_this_hookhost() {
        let resolver = |name: &str, _port: u16| -> Vec<IpAddr> {
            match name {
                "vm" => vec!["127.0.0.1".parse().unwrap()],
                "hookhost" => vec!["10.9.9.9".parse().unwrap(), "192.0.2.7".parse().unwrap()],
                _ => Vec::new(),
            }
        };
        let at = |listen: &str, text: &str| {
            LoopGuard::default()
                .listening_on(listen.parse().unwrap())
                .is_this_listener_resolving(&Url::parse(text).unwrap(), resolver)
        };
        assert!(at("127.0.0.1:18771", "http://vm:18771/v1/actions/fs"));
        assert!(at("0.0.0.0:18771", "http://VM:18771/v1/actions/fs"));
        assert!(
            at("192.0.2.7:8765", "http://hookhost:8765/v1/actions/fs"),
            "any of its addresses"
        );
        assert!(!at("192.0.2.8:8765", "http://hookhost:8765/"));
        assert!(!at("127.0.0.1:18771", "http://vm:9/"));
        assert!(!at("127.0.0.1:18771", "http://elsewhere:18771/"));
    }

    #[test]
    fn the_running_program_is_this_hookhost() {
        let guard = LoopGuard::for_this_process();
        let me = std::env::current_exe().unwrap();
        assert!(guard.points_at_self(&HookTarget::Exec(me)).is_some());
        assert!(
            guard
                .points_at_self(&HookTarget::Exec("/bin/sh".into()))
                .is_none()
        );
    }
}
