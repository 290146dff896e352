//! A component's optional `init` export (`wit/hooks.wit`): start-up work
//! that needs no event, which a spare runs between events instead of on
//! its event's path.

use std::path::Path;

use wasmtime::Store;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, Instance};

use crate::sandbox::State;

/// The interface as components export it.
const INTERFACE: &str = "hookhost:hooks/init@0.2.0";

/// Where `init` is, if the component at `path` exports the interface; an
/// error naming the file if it exports it in another shape.
pub(super) fn find(
    component: &Component,
    path: &Path,
) -> Result<Option<ComponentExportIndex>, String> {
    let Some((item, interface)) = component.get_export(None, INTERFACE) else {
        return Ok(None);
    };
    let wrong = |what: &str| {
        format!(
            "{} exports `{INTERFACE}` {what}: it must hold `init: func()`",
            path.display()
        )
    };
    if !matches!(item, ComponentItem::ComponentInstance(_)) {
        return Err(wrong("as something other than an interface"));
    }
    match component.get_export(Some(&interface), "init") {
        Some((ComponentItem::ComponentFunc(func), index))
            if func.params().len() == 0 && func.results().len() == 0 =>
        {
            Ok(Some(index))
        }
        Some(_) => Err(wrong("with an `init` of another type")),
        None => Err(wrong("without `init`")),
    }
}

/// Call `init` (found by [`find`]) on `instance`.
pub(super) async fn run(
    store: &mut Store<State>,
    instance: Instance,
    init: &ComponentExportIndex,
) -> wasmtime::Result<()> {
    let func = instance.get_typed_func::<(), ()>(&mut *store, init)?;
    func.call_async(&mut *store, ()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component exporting `hookhost:hooks/init@0.2.0` holding `items`
    /// (core function `f` returns an i32 if asked).
    fn component(items: &str) -> Component {
        let wat = format!(
            r#"(component
                (core module $m
                    (func (export "f"))
                    (func (export "g") (result i32) i32.const 0))
                (core instance $i (instantiate $m))
                (func $f (canon lift (core func $i "f")))
                (func $g (result u32) (canon lift (core func $i "g")))
                (instance $init {items})
                (export "{INTERFACE}" (instance $init)))"#
        );
        let engine = wasmtime::Engine::default();
        Component::new(&engine, wat::parse_str(wat).unwrap()).unwrap()
    }

    #[test]
    fn init_is_found_when_exported_with_its_type() {
        let found = find(
            &component(r#"(export "init" (func $f))"#),
            Path::new("x.wasm"),
        );
        assert!(matches!(found, Ok(Some(_))), "{found:?}");
    }

    #[test]
    fn a_component_without_the_interface_has_no_init() {
        let engine = wasmtime::Engine::default();
        let bare = Component::new(&engine, wat::parse_str("(component)").unwrap()).unwrap();
        assert!(matches!(find(&bare, Path::new("x.wasm")), Ok(None)));
    }

    #[test]
    fn an_init_of_another_shape_is_refused_naming_the_file() {
        for (items, what) in [
            (r#"(export "init" (func $g))"#, "another type"),
            (r#"(export "start" (func $f))"#, "without `init`"),
        ] {
            let err = find(&component(items), Path::new("hooks/x.wasm")).unwrap_err();
            assert!(err.contains("hooks/x.wasm") && err.contains(what), "{err}");
            assert!(err.contains("init: func()"), "{err}");
        }
    }
}
