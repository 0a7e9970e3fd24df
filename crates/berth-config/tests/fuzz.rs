//! Fuzzing the config loader (proptest): any file, valid TOML or not,
//! gets a config or errors with locations, never a panic. The suite runs a
//! short pass; `PROPTEST_CASES=100000 cargo test -p berth-config --test
//! fuzz` runs a long one.

use berth_config::paths::Mode;
use berth_config::{load, Checks};
use proptest::prelude::*;

/// Lines that look like a berth config: its tables and keys, with values
/// of every type, right or wrong.
fn configish() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("command"),
        Just("user"),
        Just("create_user"),
        Just("cwd"),
        Just("env"),
        Just("restart"),
        Just("restart_delay"),
        Just("restart_max_delay"),
        Just("restart_limit"),
        Just("scrollback"),
        Just("size"),
        Just("size_policy"),
        Just("log"),
        Just("log_max_size"),
        Just("log_keep"),
        Just("access"),
        Just("access.operators"),
        Just("access.group"),
        Just("after"),
        Just("limits"),
        Just("sandbox"),
        Just("dynamic_user"),
        Just("backend"),
        Just("include"),
        Just("admins"),
        Just("bogus"),
    ];
    let value = prop_oneof![
        Just("\"bash\"".to_owned()),
        Just("[\"bash\", \"-i\"]".to_owned()),
        Just("[]".to_owned()),
        Just("\"120x40\"".to_owned()),
        Just("\"1d\"".to_owned()),
        Just("\"999999999999d\"".to_owned()),
        Just("\"64M\"".to_owned()),
        Just("{ memory = \"1G\", tasks = 0 }".to_owned()),
        Just("{ burst = 3, interval = \"5m\" }".to_owned()),
        Just("[\"group:x\", \"root\"]".to_owned()),
        Just("true".to_owned()),
        Just("-5".to_owned()),
        Just("1.5".to_owned()),
        Just("\"\\u0000\"".to_owned()),
        "\"[a-z*/.]{0,12}\"",
    ];
    let line = prop_oneof![
        Just("[daemon]".to_owned()),
        Just("[defaults]".to_owned()),
        "\\[session\\.[a-z.\\-]{0,8}\\]",
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        ".{0,20}",
    ];
    prop::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

fn never_panics(text: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.toml");
    std::fs::write(&path, text).unwrap();
    for (mode, systemd) in [(Mode::System, Some(false)), (Mode::User, None)] {
        if let Err(errors) = load(
            &path,
            Checks {
                mode,
                systemd,
                trust: None,
            },
        ) {
            assert!(!errors.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn the_loader_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        never_panics(&bytes);
    }

    #[test]
    fn the_loader_takes_any_config_shape(text in configish()) {
        never_panics(text.as_bytes());
    }
}
