//! Which of hookhost's worlds a component implements, read from the names
//! of its exports without compiling it: what `hookhost fire --hook` calls
//! a component with, and what `check` can name when a component sits in
//! the wrong place.

use crate::event::login::LoginHook;

/// A world of hookhost's WIT package (`wit/`), by the interface a
/// component exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    /// `fs-hook`: exports `fs-handler`.
    Fs,
    /// `provider-hook`: exports `provider-handler`.
    Provider,
    /// A login, connection, startup, data-retention or Event Manager rule
    /// hook: exports the interface of that name.
    Login(LoginHook),
    /// `notifier-plugin`.
    Notifier,
    /// `kms-plugin`.
    Kms,
    /// `auth-plugin`.
    Auth,
    /// `eventsearcher-plugin`.
    EventSearcher,
    /// `ipfilter-plugin`.
    IpFilter,
}

/// The exported interface each world is known by.
const INTERFACES: &[(&str, World)] = &[
    ("fs-handler", World::Fs),
    ("provider-handler", World::Provider),
    ("pre-login", World::Login(LoginHook::PreLogin)),
    ("external-auth", World::Login(LoginHook::ExternalAuth)),
    ("check-password", World::Login(LoginHook::CheckPassword)),
    (
        "keyboard-interactive",
        World::Login(LoginHook::KeyboardInteractive),
    ),
    ("post-login", World::Login(LoginHook::PostLogin)),
    ("post-connect", World::Login(LoginHook::PostConnect)),
    ("post-disconnect", World::Login(LoginHook::PostDisconnect)),
    ("startup", World::Login(LoginHook::Startup)),
    ("data-retention", World::Login(LoginHook::DataRetention)),
    ("event-rule", World::Login(LoginHook::EventRule)),
    ("notifier", World::Notifier),
    ("kms", World::Kms),
    ("auth", World::Auth),
    ("eventsearcher", World::EventSearcher),
    ("ipfilter", World::IpFilter),
];

/// The package hookhost's interfaces live in.
const PACKAGE: &str = "hookhost:hooks/";

impl World {
    /// The world's name in the WIT (`fs-hook`, `pre-login-hook`,
    /// `kms-plugin`, ...).
    pub fn name(self) -> &'static str {
        match self {
            World::Fs => "fs-hook",
            World::Provider => "provider-hook",
            World::Login(hook) => hook.world(),
            World::Notifier => "notifier-plugin",
            World::Kms => "kms-plugin",
            World::Auth => "auth-plugin",
            World::EventSearcher => "eventsearcher-plugin",
            World::IpFilter => "ipfilter-plugin",
        }
    }

    /// The world whose name is `name` (as [`World::name`] spells it).
    pub fn from_name(name: &str) -> Option<World> {
        INTERFACES
            .iter()
            .map(|(_, world)| *world)
            .find(|world| world.name() == name)
    }

    /// Every world, in the WIT's order.
    pub fn all() -> impl Iterator<Item = World> {
        INTERFACES.iter().map(|(_, world)| *world)
    }
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why [`worlds_of`] found no world in a component.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorldError {
    /// The bytes are not a WebAssembly component.
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    /// It exports none of hookhost's interfaces.
    #[error(
        "exports none of hookhost's interfaces (exports: {}); build it for one of the worlds in wit/",
        if .0.is_empty() { "nothing".to_owned() } else { .0.join(", ") }
    )]
    NoWorld(Vec<String>),
}

/// The worlds `component` implements, from its top-level exports, in the
/// WIT's order: one for a component built for a world, several for one
/// that exports several interfaces (one component for every login hook).
/// `init`, which any hook may export beside its world's interface, is not
/// a world.
pub fn worlds_of(component: &[u8]) -> Result<Vec<World>, WorldError> {
    use wasmparser::{Encoding, Parser, Payload};

    let mut exports = Vec::new();
    // Nested modules and components have exports of their own: only the
    // outermost component's count.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        let payload = payload.map_err(|e| WorldError::NotAComponent(e.to_string()))?;
        match payload {
            Payload::Version { encoding, .. } if depth == 0 && encoding != Encoding::Component => {
                return Err(WorldError::NotAComponent(
                    "a core module (build a component: wasm32-wasip2, componentize-py, componentize-js)".into(),
                ));
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(|e| WorldError::NotAComponent(e.to_string()))?;
                    exports.push(export.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    let interface = |name: &str| {
        name.strip_prefix(PACKAGE)
            .map(|rest| rest.split('@').next().unwrap_or(rest).to_owned())
    };
    let found: Vec<World> = INTERFACES
        .iter()
        .filter(|(name, _)| {
            exports
                .iter()
                .any(|e| interface(e).as_deref() == Some(*name))
        })
        .map(|(_, world)| *world)
        .collect();
    if found.is_empty() {
        return Err(WorldError::NoWorld(exports));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component exporting an instance named `name` (an empty one: the
    /// names are all `world_of` reads).
    fn exporting(names: &[&str]) -> Vec<u8> {
        let exports: String = names
            .iter()
            .enumerate()
            .map(|(i, name)| format!("(instance $i{i}) (export \"{name}\" (instance $i{i}))"))
            .collect();
        wat::parse_str(format!("(component {exports})")).expect("valid component text")
    }

    #[test]
    fn each_world_is_known_by_its_interface_with_or_without_a_version() {
        for world in World::all() {
            let interface = INTERFACES.iter().find(|(_, w)| *w == world).unwrap().0;
            let versioned = exporting(&[&format!("hookhost:hooks/{interface}@0.2.0")]);
            assert_eq!(worlds_of(&versioned), Ok(vec![world]));
            let plain = exporting(&[&format!("hookhost:hooks/{interface}")]);
            assert_eq!(worlds_of(&plain), Ok(vec![world]));
            assert_eq!(World::from_name(world.name()), Some(world));
        }
    }

    #[test]
    fn init_beside_the_world_is_not_a_second_world() {
        let both = exporting(&[
            "hookhost:hooks/init@0.2.0",
            "hookhost:hooks/pre-login@0.2.0",
        ]);
        assert_eq!(
            worlds_of(&both),
            Ok(vec![World::Login(LoginHook::PreLogin)])
        );
    }

    #[test]
    fn nested_exports_do_not_count() {
        let nested = wat::parse_str(
            r#"(component
                (component (instance $i) (export "hookhost:hooks/kms@0.2.0" (instance $i)))
                (instance $o) (export "hookhost:hooks/ipfilter@0.2.0" (instance $o)))"#,
        )
        .unwrap();
        assert_eq!(worlds_of(&nested), Ok(vec![World::IpFilter]));
    }

    #[test]
    fn a_component_of_several_worlds_has_them_all_in_the_wit_order() {
        let two = exporting(&["hookhost:hooks/kms@0.2.0", "hookhost:hooks/pre-login@0.2.0"]);
        assert_eq!(
            worlds_of(&two),
            Ok(vec![World::Login(LoginHook::PreLogin), World::Kms])
        );
    }

    #[test]
    fn what_is_no_world_is_named() {
        let none = exporting(&["wasi:cli/run@0.2.3"]);
        let err = worlds_of(&none).unwrap_err();
        assert!(err.to_string().contains("wasi:cli/run@0.2.3"), "{err}");
        let module = wat::parse_str("(module)").unwrap();
        assert!(matches!(
            worlds_of(&module),
            Err(WorldError::NotAComponent(_))
        ));
        assert!(matches!(
            worlds_of(b"not wasm"),
            Err(WorldError::NotAComponent(_))
        ));
    }
}
