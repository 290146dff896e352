//! go-plugin's handshake, server side: what the launching client put in the
//! environment (magic cookie, app protocol versions, listener settings,
//! AutoMTLS certificate) and the one line the plugin answers on stdout.

use std::collections::HashMap;
use std::path::PathBuf;

/// go-plugin's core protocol version: the handshake line's first field.
pub(crate) const CORE_PROTOCOL_VERSION: u32 = 1;

/// App protocol versions hookhost serves. SFTPGo's SDK uses 1 for every
/// plugin type.
const APP_PROTOCOL_VERSIONS: &[u32] = &[1];

/// SFTPGo's plugin types with their magic cookies (the SDK's `Handshake`
/// per type): the client sets the variable, the plugin checks the value.
pub(crate) const COOKIES: [Cookie; 5] = [
    Cookie {
        kind: "notifier",
        key: "SFTPGO_PLUGIN_NOTIFIER",
        value: "c499b98b-cd59-4df2-92b3-6268817f4d80",
    },
    Cookie {
        kind: "kms",
        key: "SFTPGO_PLUGIN_KMS",
        value: "223e3571-7ed2-4b96-b4b3-c7eb87d7ca1d",
    },
    Cookie {
        kind: "auth",
        key: "SFTPGO_PLUGIN_AUTH",
        value: "d1ed507d-d2be-4a38-a460-6fe0b2cc7efc",
    },
    Cookie {
        kind: "eventsearcher",
        key: "SFTPGO_PLUGIN_EVENTSEARCHER",
        value: "2b523805-0279-471c-895e-6c0d39002ca4",
    },
    Cookie {
        kind: "ipfilter",
        key: "SFTPGO_PLUGIN_IPFILTER",
        value: "368dbdab-4839-4bec-b75f-fc74a2d50f24",
    },
];

/// One plugin type's magic cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cookie {
    /// SFTPGo's type name.
    pub(crate) kind: &'static str,
    /// The environment variable.
    pub(crate) key: &'static str,
    /// Its value.
    pub(crate) value: &'static str,
}

/// What go-plugin's server prints when the cookie is missing: the binary
/// was run by hand, not by the program that loads it.
pub(crate) const NOT_LAUNCHED: &str = "This binary is a plugin. These are not meant to be executed directly.\n\
Please execute the program that consumes these plugins, which will\n\
load any plugins automatically";

/// Variables the go-plugin client adds for the plugin process: transport
/// details, kept from the component.
const TRANSPORT_VARS: &[&str] = &[
    "PLUGIN_MIN_PORT",
    "PLUGIN_MAX_PORT",
    "PLUGIN_PROTOCOL_VERSIONS",
    "PLUGIN_CLIENT_CERT",
    "PLUGIN_UNIX_SOCKET_DIR",
    "PLUGIN_UNIX_SOCKET_GROUP",
    "PLUGIN_MULTIPLEX_GRPC",
];

/// How the client launched this process.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Launch {
    /// The plugin type the client expects.
    pub(crate) cookie: Cookie,
    /// The app protocol version both sides speak.
    pub(crate) app_version: u32,
    /// Versions the client accepts, when none of them is one hookhost
    /// speaks (go-plugin then answers its lowest; the client refuses it).
    pub(crate) unmatched_versions: Option<String>,
    /// The client's certificate (PEM) when it asked for AutoMTLS.
    pub(crate) client_cert: Option<String>,
    /// Where the unix socket goes.
    pub(crate) socket_dir: PathBuf,
    /// Group to give the socket to (group-writable), if any.
    pub(crate) socket_group: Option<String>,
    /// TCP port range (0..0: any port).
    pub(crate) ports: (u16, u16),
}

/// Why the process cannot serve the client.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LaunchError {
    /// No valid magic cookie: not launched by a plugin client.
    #[error("{NOT_LAUNCHED}")]
    NotLaunched,
    /// More than one cookie is valid.
    #[error(
        "the environment has the magic cookies of several plugin types ({0}); a client launches one type"
    )]
    SeveralCookies(String),
    /// A malformed listener setting.
    #[error("{0}")]
    Setting(String),
}

impl Launch {
    /// Read the launch from the process environment.
    pub(crate) fn from_env(env: &HashMap<String, String>) -> Result<Launch, LaunchError> {
        let valid: Vec<Cookie> = COOKIES
            .iter()
            .copied()
            .filter(|c| env.get(c.key).map(String::as_str) == Some(c.value))
            .collect();
        let cookie = match valid.as_slice() {
            [] => return Err(LaunchError::NotLaunched),
            [one] => *one,
            several => {
                let keys: Vec<&str> = several.iter().map(|c| c.key).collect();
                return Err(LaunchError::SeveralCookies(keys.join(", ")));
            }
        };
        let offered = env.get("PLUGIN_PROTOCOL_VERSIONS").map(String::as_str);
        let (app_version, unmatched_versions) = negotiate(offered);
        let port = |name: &str| -> Result<u16, LaunchError> {
            match env.get(name).map(String::as_str) {
                None | Some("") => Ok(0),
                Some(text) => text.parse().map_err(|_| {
                    LaunchError::Setting(format!("{name}={text:?} is not a port number"))
                }),
            }
        };
        let ports = (port("PLUGIN_MIN_PORT")?, port("PLUGIN_MAX_PORT")?);
        if ports.0 > ports.1 {
            return Err(LaunchError::Setting(format!(
                "PLUGIN_MIN_PORT {} is greater than PLUGIN_MAX_PORT {}",
                ports.0, ports.1
            )));
        }
        let non_empty = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let socket_dir = non_empty("PLUGIN_UNIX_SOCKET_DIR")
            .or_else(|| non_empty("TMPDIR"))
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        Ok(Launch {
            cookie,
            app_version,
            unmatched_versions,
            client_cert: non_empty("PLUGIN_CLIENT_CERT"),
            socket_dir,
            socket_group: non_empty("PLUGIN_UNIX_SOCKET_GROUP"),
            ports,
        })
    }

    /// The handshake line (without its newline): `CORE|APP|NETWORK|ADDRESS|grpc|CERT`,
    /// the certificate as go-plugin writes it: its DER in standard base64
    /// without padding, empty without AutoMTLS.
    pub(crate) fn line(&self, network: &str, address: &str, server_cert: Option<&[u8]>) -> String {
        use base64::Engine as _;
        let cert = server_cert
            .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
            .unwrap_or_default();
        format!(
            "{CORE_PROTOCOL_VERSION}|{}|{network}|{address}|grpc|{cert}",
            self.app_version
        )
    }
}

/// go-plugin's negotiation: the highest version both sides speak; with
/// none in common (or no list), the lowest hookhost speaks, which the
/// client then refuses with its own message.
fn negotiate(offered: Option<&str>) -> (u32, Option<String>) {
    let lowest = APP_PROTOCOL_VERSIONS[0];
    let Some(offered) = offered.filter(|o| !o.trim().is_empty()) else {
        return (lowest, None);
    };
    let client: Vec<u32> = offered
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    match APP_PROTOCOL_VERSIONS
        .iter()
        .rev()
        .find(|v| client.contains(v))
    {
        Some(version) => (*version, None),
        None => (lowest, Some(offered.to_owned())),
    }
}

/// The environment the component's env rules select from: the process
/// environment without go-plugin's transport variables and cookies.
pub(crate) fn component_env(env: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| {
            !TRANSPORT_VARS.contains(&k.as_str()) && !COOKIES.iter().any(|c| c.key == k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    vars.sort();
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const AUTH: (&str, &str) = ("SFTPGO_PLUGIN_AUTH", "d1ed507d-d2be-4a38-a460-6fe0b2cc7efc");

    #[test]
    fn no_cookie_or_a_wrong_value_is_not_a_launch() {
        assert_eq!(Launch::from_env(&env(&[])), Err(LaunchError::NotLaunched));
        assert_eq!(
            Launch::from_env(&env(&[("SFTPGO_PLUGIN_AUTH", "guess")])),
            Err(LaunchError::NotLaunched)
        );
        assert!(
            LaunchError::NotLaunched
                .to_string()
                .starts_with("This binary is a plugin.")
        );
    }

    #[test]
    fn the_cookie_names_the_type() {
        let launch = Launch::from_env(&env(&[AUTH])).unwrap();
        assert_eq!(launch.cookie.kind, "auth");
        assert_eq!(launch.app_version, 1);
        assert_eq!(launch.socket_dir, PathBuf::from("/tmp"));
        assert_eq!(launch.ports, (0, 0));
        assert_eq!(launch.client_cert, None);
        let both = env(&[
            AUTH,
            ("SFTPGO_PLUGIN_KMS", "223e3571-7ed2-4b96-b4b3-c7eb87d7ca1d"),
        ]);
        assert!(matches!(
            Launch::from_env(&both),
            Err(LaunchError::SeveralCookies(_))
        ));
    }

    #[test]
    fn versions_are_negotiated_as_go_plugin_does() {
        assert_eq!(negotiate(Some("1")), (1, None));
        assert_eq!(negotiate(Some("3,1,2")), (1, None));
        assert_eq!(negotiate(None), (1, None));
        assert_eq!(negotiate(Some("2,x,3")), (1, Some("2,x,3".to_owned())));
    }

    #[test]
    fn listener_settings_come_from_the_client() {
        let launch = Launch::from_env(&env(&[
            AUTH,
            ("PLUGIN_MIN_PORT", "10000"),
            ("PLUGIN_MAX_PORT", "25000"),
            ("PLUGIN_UNIX_SOCKET_DIR", "/run/sftpgo"),
            ("TMPDIR", "/var/tmp"),
        ]))
        .unwrap();
        assert_eq!(launch.ports, (10000, 25000));
        assert_eq!(launch.socket_dir, PathBuf::from("/run/sftpgo"));
        let bad = Launch::from_env(&env(&[
            AUTH,
            ("PLUGIN_MIN_PORT", "9"),
            ("PLUGIN_MAX_PORT", "8"),
        ]));
        assert!(matches!(bad, Err(LaunchError::Setting(m)) if m.contains("greater")));
    }

    #[test]
    fn the_line_carries_the_certificate_as_go_plugin_encodes_it() {
        let launch = Launch::from_env(&env(&[AUTH])).unwrap();
        assert_eq!(
            launch.line("unix", "/tmp/plugin42", None),
            "1|1|unix|/tmp/plugin42|grpc|"
        );
        // 4 bytes: base64 with padding would end in "==".
        assert_eq!(
            launch.line("tcp", "127.0.0.1:10000", Some(&[0x30, 0x82, 0x01, 0x0a])),
            "1|1|tcp|127.0.0.1:10000|grpc|MIIBCg"
        );
    }

    #[test]
    fn the_component_does_not_see_the_transport() {
        let vars = component_env(&env(&[
            AUTH,
            ("PLUGIN_CLIENT_CERT", "-----BEGIN"),
            ("PLUGIN_PROTOCOL_VERSIONS", "1"),
            ("HOOKHOST_LOG", "debug"),
            ("SFTPGO_PLUGIN_AUTH_DSN", "kept: not a cookie"),
        ]));
        let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["HOOKHOST_LOG", "SFTPGO_PLUGIN_AUTH_DSN"]);
    }
}
