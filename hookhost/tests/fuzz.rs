//! Property tests ("fuzzing") of everything that reads outside input: the
//! SFTPGo JSON body, the exec hook's argv/environment, provider objects, and
//! the configuration loader. CI runs proptest's default number of cases;
//! a longer run:
//!
//! ```sh
//! PROPTEST_CASES=200000 cargo test --release -p hookhost --test fuzz
//! ```

use std::collections::HashMap;
use std::path::Path;

use hookhost::Config;
use hookhost::event::fs::exec::{decode_fs_exec, fs_args, fs_env};
use hookhost::event::fs::http::{decode_fs_event, encode_fs_event};
use hookhost::event::{
    Change, Contract, FsAction, FsEvent, FsProvider, ObjectType, Protocol, ProviderAction,
    ProviderEvent, Status, VersionSetting,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Text as it may come from a client: any Unicode but NUL (which an
/// environment variable cannot carry either).
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[^\\x00]{0,24}").unwrap()
}

fn some_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(proptest::string::string_regex("[^\\x00]{1,24}").unwrap())
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![
        Just(Protocol::Ssh),
        Just(Protocol::Sftp),
        Just(Protocol::Scp),
        Just(Protocol::Ftp),
        Just(Protocol::Dav),
        Just(Protocol::Http),
        "[A-Za-z]{1,12}".prop_map(|name| Protocol::parse(&name)),
    ]
}

/// An event with the fields SFTPGo's reference encodings carry.
fn reference_event() -> impl Strategy<Value = FsEvent> {
    (
        (0..FsAction::ALL.len()).prop_map(|i| FsAction::ALL[i]),
        text(),
        text(),
        some_text(),
        some_text(),
        0i64..i64::MAX,
        0u32..9,
        some_text(),
        some_text(),
        prop_oneof![
            Just(Status::GenericError),
            Just(Status::Ok),
            Just(Status::QuotaExceeded)
        ],
        protocol(),
        any::<i32>(),
    )
        .prop_map(
            |(
                action,
                username,
                path,
                target_path,
                ssh_cmd,
                file_size,
                provider,
                bucket,
                endpoint,
                status,
                protocol,
                open_flags,
            )| {
                let mut event = FsEvent::new(action, username, path, protocol);
                event.target_path = target_path;
                event.ssh_cmd = ssh_cmd;
                event.file_size = file_size;
                event.fs_provider = FsProvider::from_code(provider);
                event.bucket = bucket;
                event.endpoint = endpoint;
                event.status = status;
                event.open_flags = open_flags;
                event
            },
        )
}

/// An event with every field today's SFTPGo sends.
fn current_event() -> impl Strategy<Value = FsEvent> {
    (
        reference_event(),
        text(),
        some_text(),
        some_text(),
        some_text(),
        0i64..i64::MAX,
        some_text(),
        0i64..i64::MAX,
        proptest::collection::btree_map("[a-z]{1,8}", text(), 0..3),
    )
        .prop_map(
            |(
                mut event,
                virtual_path,
                virtual_target,
                ip,
                session,
                ts,
                role,
                elapsed,
                metadata,
            )| {
                event.virtual_path = Some(virtual_path);
                event.virtual_target_path = virtual_target;
                event.ip = ip;
                event.session_id = session;
                event.timestamp = Some(ts);
                event.role = role;
                event.elapsed = elapsed;
                event.metadata = metadata;
                event
            },
        )
}

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::hash_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// The body's own keys.
const BODY_KEYS: [&str; 18] = [
    "action",
    "username",
    "path",
    "target_path",
    "ssh_cmd",
    "file_size",
    "fs_provider",
    "bucket",
    "endpoint",
    "status",
    "protocol",
    "open_flags",
    "timestamp",
    "ip",
    "session_id",
    "virtual_path",
    "role",
    "elapsed",
];

/// JSON objects using the body's own keys, with values of any type.
fn body_like() -> impl Strategy<Value = Value> {
    proptest::collection::vec((0..BODY_KEYS.len(), json_value()), 0..14).prop_map(move |pairs| {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (BODY_KEYS[k].to_owned(), v))
                .collect(),
        )
    })
}

/// The first segment of a field path (`metadata.k` -> `metadata`).
fn first_segment(field: &str) -> &str {
    field.split(['.', '[']).next().unwrap_or(field)
}

proptest! {
    #[test]
    fn json_decoder_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_fs_event(&bytes);
    }

    #[test]
    fn json_decoder_never_panics_on_body_shaped_json(body in body_like()) {
        if let Err(err) = decode_fs_event(body.to_string().as_bytes()) {
            // The field named is one of the body's, or the body itself
            // (a missing field, a wrong document type).
            let first = first_segment(&err.field);
            prop_assert!(first == "body" || BODY_KEYS.contains(&first), "{err}");
        }
    }

    #[test]
    fn json_body_round_trips(event in reference_event()) {
        let decoded = decode_fs_event(&encode_fs_event(&event, &Contract::REFERENCE)).unwrap();
        prop_assert_eq!(decoded, event);
    }

    #[test]
    fn todays_json_body_round_trips(event in current_event()) {
        let decoded = decode_fs_event(&encode_fs_event(&event, &Contract::NEWEST)).unwrap();
        prop_assert_eq!(decoded, event);
    }

    #[test]
    fn todays_env_round_trips(event in current_event()) {
        let env: HashMap<&str, String> = fs_env(&event, &Contract::NEWEST).into_iter().collect();
        let mut decoded = decode_fs_exec(|name| env.get(name).cloned(), &[], VersionSetting::Auto).unwrap();
        // Today's variables (`SFTPGO_ACTION_ROLE` set, even empty) tell 2.5+.
        prop_assert!(VersionSetting::Auto.contract(decoded.releases()).proves(Change::Role));
        decoded.sent_by = None;
        prop_assert_eq!(&decoded, &event);
        prop_assert!(fs_args(&event, &Contract::NEWEST).is_empty());
    }

    #[test]
    fn json_body_is_go_compatible(event in reference_event()) {
        let body = encode_fs_event(&event, &Contract::REFERENCE);
        prop_assert_eq!(body.last(), Some(&b'\n'));
        for byte in [b'<', b'>', b'&'] {
            prop_assert!(!body.contains(&byte), "HTML characters are escaped");
        }
        let value: Value = serde_json::from_slice(&body).unwrap();
        prop_assert_eq!(value.get("file_size").is_some(), event.file_size > 0);
        prop_assert_eq!(value.get("target_path").is_some(), event.target_path.is_some());
    }

    #[test]
    fn exec_argv_and_env_round_trip(event in reference_event()) {
        let env: HashMap<&str, String> = fs_env(&event, &Contract::REFERENCE).into_iter().collect();
        let decoded = decode_fs_exec(|name| env.get(name).cloned(), &[], VersionSetting::Auto).unwrap();
        prop_assert_eq!(&decoded, &event);
        let args = fs_args(&event, &Contract::REFERENCE);
        let from_argv = decode_fs_exec(|_| None, &args, VersionSetting::Auto).unwrap();
        prop_assert_eq!((from_argv.action, &from_argv.username, &from_argv.path), (event.action, &event.username, &event.path));
    }

    #[test]
    fn exec_decoder_never_panics(vars in proptest::collection::hash_map("SFTPGO_ACTION[A-Z_]{0,12}", text(), 0..14),
                                 args in proptest::collection::vec(text(), 0..7)) {
        let _ = decode_fs_exec(|name| vars.get(name).cloned(), &args, VersionSetting::Auto);
    }

    #[test]
    fn provider_objects_never_carry_secrets(object in json_value(), secret in "[a-z]{12}") {
        // Plant secrets at the top and inside every nested object.
        fn plant(value: &mut Value, secret: &str) {
            match value {
                Value::Object(map) => {
                    map.values_mut().for_each(|v| plant(v, secret));
                    map.insert("password".into(), json!(secret));
                    map.insert("private_key".into(), json!({"payload": secret}));
                }
                Value::Array(items) => items.iter_mut().for_each(|v| plant(v, secret)),
                _ => {}
            }
        }
        let mut object = json!({"username": "u", "nested": object});
        plant(&mut object, &secret);
        let event = ProviderEvent::new(ProviderAction::Update, ObjectType::User, object);
        prop_assert!(!event.object_json.contains(&secret), "{}", event.object_json);
    }

    #[test]
    fn a_config_that_validates_builds_a_host_and_an_engine(
        // Mostly in range, so that hosts get built; sometimes at the edges.
        workers in prop_oneof![8 => 1u64..64, 1 => Just(0u64), 1 => Just(u64::MAX)],
        queue in prop_oneof![8 => 1u64..4096, 1 => Just(0u64), 1 => Just(u64::MAX)],
        instances in prop_oneof![8 => 1u64..64, 1 => Just(0u64), 1 => Just(u64::MAX)],
        memory in prop_oneof![8 => 64u64..4097, 1 => Just(0u64), 1 => Just(u64::MAX)],
        tick in prop_oneof![8 => 1u64..1001, 1 => Just(0u64), 1 => 1001u64..u64::MAX],
        timeout_ms in prop_oneof![8 => 1u64..300_001, 1 => Just(0u64), 1 => Just(u64::MAX)],
        http_timeout in prop_oneof![8 => 0.001f64..86_400.0, 1 => Just(0.0f64), 1 => Just(1e300)],
    ) {
        let config = json!({
            "common": {"actions": {"hooks": [
                {"hook": "http://127.0.0.1:9/", "execute_on": ["upload"], "limits": {"timeout_ms": timeout_ms}},
                {"hook": "/bin/true", "execute_on": ["pre-upload"], "limits": {"timeout_ms": timeout_ms}},
            ]}},
            "http": {"timeout": http_timeout},
            "hookhost": {"async_workers": workers, "async_queue_size": queue, "cache_dir": "",
                "wasm": {"max_instances": instances, "max_memory_mib": memory, "epoch_tick_ms": tick,
                         "pooling": false}},
        });
        if let Ok(config) = Config::from_value(config, Path::new("/")) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let host = hookhost::Host::new(config.clone()).await.expect("a valid config builds");
                host.shutdown().await;
            });
            // The engine those settings describe starts (or fails cleanly).
            #[cfg(feature = "internals")]
            let _ = hookhost::sandbox::Sandbox::new(&config.settings.wasm, None);
        }
    }

    #[test]
    fn config_loader_never_panics_on_arbitrary_json(config in json_value()) {
        let _ = Config::from_value(config, Path::new("/nonexistent"));
    }

    #[test]
    fn config_loader_names_the_field_of_a_mutated_config(value in json_value(), at in 0usize..8) {
        let mut config = json!({
            "common": {"actions": {"execute_on": ["upload"], "execute_sync": [], "hook": "http://127.0.0.1:9/",
                "hooks": [{"name": "h", "hook": "http://127.0.0.1:9/x", "execute_on": ["pre-upload"], "limits": {"timeout_ms": 1000}}]}},
            "data_provider": {"actions": {"execute_on": ["add"], "execute_for": ["user"], "hook": "http://127.0.0.1:9/p"}},
            "http": {"timeout": 5, "retry_max": 1},
            "hookhost": {"async_workers": 2},
        });
        let (path, slot) = match at {
            0 => ("common.actions.execute_on", &mut config["common"]["actions"]["execute_on"]),
            1 => ("common.actions.hook", &mut config["common"]["actions"]["hook"]),
            2 => ("common.actions.hooks[0].limits", &mut config["common"]["actions"]["hooks"][0]["limits"]),
            3 => ("common.actions.hooks[0].execute_on", &mut config["common"]["actions"]["hooks"][0]["execute_on"]),
            4 => ("data_provider.actions.execute_for", &mut config["data_provider"]["actions"]["execute_for"]),
            5 => ("http.timeout", &mut config["http"]["timeout"]),
            6 => ("hookhost.async_workers", &mut config["hookhost"]["async_workers"]),
            _ => ("common.actions.hooks[0]", &mut config["common"]["actions"]["hooks"][0]),
        };
        *slot = value;
        if let Err(err) = Config::from_value(config, Path::new("/nonexistent")) {
            // Only the mutated value is wrong: the error must point there.
            prop_assert!(err.error.field.starts_with(path), "{path}: {err}");
        }
    }
}
