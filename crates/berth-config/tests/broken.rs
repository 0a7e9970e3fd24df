//! Broken configurations, each with the exact message a user sees.

use std::path::Path;

use berth_config::paths::Mode;
use berth_config::{load, Checks};

/// System mode without the owner check: the files here are the test's
/// own (see `files_anyone_else_may_write_are_refused`).
const SYSTEM: Checks = Checks {
    mode: Mode::System,
    systemd: Some(true),
    trust: None,
};

/// Writes `main` (and includes) in a temp dir, loads it, returns the errors
/// with the directory replaced by `DIR`.
fn errors_of(main: &str, includes: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("berth.toml"), main).unwrap();
    std::fs::create_dir_all(dir.path().join("sessions.d")).unwrap();
    for (name, text) in includes {
        std::fs::write(dir.path().join("sessions.d").join(name), text).unwrap();
    }
    match load(&dir.path().join("berth.toml"), SYSTEM) {
        Ok(c) => panic!("expected errors, loaded {} sessions", c.sessions.len()),
        Err(errors) => errors
            .iter()
            .map(|e| {
                e.to_string()
                    .replace(&dir.path().display().to_string(), "DIR")
            })
            .collect(),
    }
}

const OK: &str = "command = [\"bash\"]\n";

#[test]
fn table_of_broken_configs() {
    let cases: Vec<(String, &str)> = vec![
        ("[session.a]\ncomand = [\"bash\"]\n".into(), "DIR/berth.toml:2:1: unknown key \"comand\" in [session.a] (did you mean \"command\"?)"),
        (format!("[session.a]\n{OK}restrat = \"always\"\n"), "DIR/berth.toml:3:1: unknown key \"restrat\" in [session.a] (did you mean \"restart\"?)"),
        ("[demon]\nbackend = \"auto\"\n".into(), "DIR/berth.toml:1:2: unknown key \"demon\" in the top level (did you mean \"daemon\"?)"),
        ("[daemon]\nbackend = \"docker\"\n".into(), "DIR/berth.toml:2:11: bad backend \"docker\": expected auto, systemd or embedded"),
        ("[daemon]\ninclude = \"sessions.d/*.toml\"\n".into(), "DIR/berth.toml:2:11: include: expected an array of strings, found a string"),
        ("[session.a]\ncommand = 42\n".into(), "DIR/berth.toml:2:11: command: expected an array of strings or a string, found an integer"),
        ("[session.a]\ncommand = []\n".into(), "DIR/berth.toml:2:11: command is empty: give the program and its arguments, e.g. [\"/usr/bin/python3\", \"-i\"]"),
        ("[session.a]\ncommand = [\"bash\", 3]\n".into(), "DIR/berth.toml:2:20: command: expected an array of strings, found an integer in it"),
        ("[session.a]\nrestart = \"always\"\n".into(), "DIR/berth.toml:1:10: session \"a\" has no command: add command = [\"program\", \"arg\"] or command = \"shell line\""),
        (format!("[session.a]\n{OK}restart = \"sometimes\"\n"), "DIR/berth.toml:3:11: restart: bad restart policy \"sometimes\": expected always, on-failure or never"),
        (format!("[session.a]\n{OK}restart_delay = \"10x\"\n"), "DIR/berth.toml:3:17: restart_delay: bad duration \"10x\": expected seconds, or a number with a unit, like \"10\", \"500ms\", \"90s\", \"5m\", \"1h30m\""),
        (format!("[session.a]\n{OK}restart_delay = 5\n"), "DIR/berth.toml:3:17: restart_delay: expected a string, found an integer"),
        (format!("[session.a]\n{OK}restart_delay = \"10s\"\nrestart_max_delay = \"2s\"\n"), "DIR/berth.toml:4:21: restart_max_delay (2s) is shorter than restart_delay (10s)"),
        (format!("[session.a]\n{OK}restart_limit = {{ burst = 0, interval = \"5m\" }}\n"), "DIR/berth.toml:3:27: restart_limit.burst: expected an integer from 1 to 10000"),
        (format!("[session.a]\n{OK}restart_limit = {{ bust = 3 }}\n"), "DIR/berth.toml:3:19: unknown key \"bust\" in restart_limit (did you mean \"burst\"?)"),
        (format!("[session.a]\n{OK}scrollback = -1\n"), "DIR/berth.toml:3:14: scrollback: expected an integer from 0 to 1000000"),
        (format!("[session.a]\n{OK}scrollback = \"lots\"\n"), "DIR/berth.toml:3:14: scrollback: expected an integer, found a string"),
        (format!("[session.a]\n{OK}size = \"120\"\n"), "DIR/berth.toml:3:8: size: bad terminal size \"120\": expected COLSxROWS with both between 2 and 1000, like \"120x40\""),
        (format!("[session.a]\n{OK}size_policy = \"biggest\"\n"), "DIR/berth.toml:3:15: size_policy: bad size policy \"biggest\": expected smallest or latest"),
        (format!("[session.a]\n{OK}log = \"syslog\"\n"), "DIR/berth.toml:3:7: log: bad log target \"syslog\": expected file, journal or none"),
        (format!("[session.a]\n{OK}record = \"yes\"\n"), "DIR/berth.toml:3:10: record: expected true or false, found a string"),
        (format!("[session.a]\n{OK}log = \"none\"\nrecord = true\n"), "DIR/berth.toml:4:10: session \"a\": record = true needs log = \"file\" (the recording is kept beside the output log); set log = \"file\" or drop record"),
        (format!("[defaults]\nrecord = true\n[session.a]\n{OK}log = \"none\"\n"), "DIR/berth.toml:3:10: session \"a\": record = true needs log = \"file\" (the recording is kept beside the output log); set log = \"file\" or drop record"),
        (format!("[session.a]\n{OK}record_input = true\n"), "DIR/berth.toml:3:16: session \"a\": record_input = true records nothing without record = true; set record = true too, or drop record_input"),
        (format!("[session.a]\n{OK}log_max_size = \"64Q\"\n"), "DIR/berth.toml:3:16: log_max_size: bad size \"64Q\": expected bytes with an optional unit K, M or G (powers of 1024), like \"64M\""),
        (format!("[session.a]\n{OK}limits = {{ memory = \"2G\", cpu = \"fast\" }}\n"), "DIR/berth.toml:3:33: limits.cpu: bad cpu limit \"fast\": expected a percentage of one CPU, like \"150%\""),
        (format!("[session.a]\n{OK}limits = {{ disk = \"1G\" }}\n"), "DIR/berth.toml:3:12: unknown key \"disk\" in limits"),
        (format!("[session.a]\n{OK}access.operaters = [\"root\"]\n"), "DIR/berth.toml:3:8: unknown key \"operaters\" in access (did you mean \"operators\"?)"),
        ("[session.a]\ncommand = [\"sle\\u0000ep\"]\n".into(), "DIR/berth.toml:2:12: command: contains a NUL character, which no argument, path or name can hold; remove it"),
        ("[session.a]\ncommand = \"echo \\u0000\"\n".into(), "DIR/berth.toml:2:11: command: contains a NUL character, which no argument, path or name can hold; remove it"),
        (format!("[session.a]\ncommand = [\"echo\", \"{}\"]\n", "x".repeat(200_000)), "DIR/berth.toml:2:11: command: an argument of 200000 bytes is longer than the 131071 bytes the kernel takes in one argument"),
        (format!("[session.a]\n{OK}{}", "# padding\n".repeat(110_000)), "DIR/berth.toml: the config is 1100031 bytes, more than the 1048576 a config file may have; split it with include"),
        (format!("[session.a]\n{OK}user = \"Bad User!\"\ncreate_user = true\n"), "DIR/berth.toml:3:8: user \"Bad User!\" cannot be created: an account name is 1 to 32 lowercase letters, digits, \"_\" or \"-\", not starting with a digit or \"-\""),
        (format!("[session.abcdefghijabcdefghijabcdefghij]\n{OK}"), "DIR/berth.toml:1:10: session \"abcdefghijabcdefghijabcdefghij\" would run as \"berth-abcdefghijabcdefghijabcdefghij\", which cannot be created (an account name is 1 to 32 lowercase letters, digits, \"_\" or \"-\", not starting with a digit or \"-\"): set user, or rename the session"),
        (format!("[session.a]\n{OK}access.group = \"no-such-group-berth\"\n"), "DIR/berth.toml:3:16: access.group \"no-such-group-berth\" does not exist: create it (groupadd no-such-group-berth), or leave the default \"berth\""),
        (format!("[session.a]\n{OK}restart_delay = \"106751991167301d\"\n"), "DIR/berth.toml:3:17: restart_delay: duration \"106751991167301d\" is too long: at most 30d"),
        ("[daemon]\ninclude = [\"nothing/*.toml\"]\n".into(), "DIR/berth.toml:2:11: include \"nothing/*.toml\": no directory DIR/nothing; create it or fix the pattern"),
        ("[session.a\ncommand = [\"sleep\"]\n".into(), "DIR/berth.toml:1:11: invalid TOML: unclosed table, expected `]`"),
        ("[daemon]\ninclude = [\"extra.toml\"]\n".into(), "DIR/berth.toml:2:11: include \"extra.toml\": no such file DIR/extra.toml"),
        (format!("[session.a]\n{OK}after = [\"nodb\"]\n"), "DIR/berth.toml:1:1: session \"a\": after names no session \"nodb\": declare it, or name a systemd unit (like nodb.service)"),
        (format!("[session.a]\n{OK}access.observers = [\"group:no-such-group-berth\"]\n"), "DIR/berth.toml:3:20: session \"a\": access names unknown group \"no-such-group-berth\""),
        (format!("[session.a]\n{OK}user = \"no-such-user-berth\"\n"), "DIR/berth.toml:3:8: user \"no-such-user-berth\" does not exist: create it, or set create_user = true"),
        (format!("[session.a]\n{OK}user = \"root\"\n"), "DIR/berth.toml:3:8: session \"a\" would run as root: set allow_root = true if you mean it, or choose a service account"),
        (format!("[session.a]\n{OK}create_user = \"yes\"\n"), "DIR/berth.toml:3:15: create_user: expected true or false, found a string"),
        (format!("[session.a]\n{OK}cwd = \"srv/ci\"\n"), "DIR/berth.toml:3:7: cwd \"srv/ci\" is not an absolute path"),
        (format!("[session.\"-x\"]\n{OK}"), "DIR/berth.toml:1:10: bad session name \"-x\": use 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"),
        ("[session.w]\ncommand = [\"sh\"]\nuser = \"_berth-web\"\n".to_owned(), "DIR/berth.toml:3:8: session \"w\" may not run as \"_berth-web\": berth-web runs as that account, and a session's program would hold its rights; choose a service account of the session's own"),
        (format!("[session.\"a b\"]\n{OK}"), "DIR/berth.toml:1:10: bad session name \"a b\": use 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"),
        (format!("[session.a]\n{OK}env = {{ \"A=B\" = \"x\" }}\n"), "DIR/berth.toml:3:9: bad environment name \"A=B\""),
        ("[session.a\ncommand = [\"bash\"]\n".into(), "DIR/berth.toml:1:11: invalid TOML: unclosed table, expected `]`"),
        ("[session.a]\ncommand = [\"bash\"\n".into(), "DIR/berth.toml:2:18: invalid TOML: unclosed array, expected `]`"),
        (format!("[session.a]\n{OK}sandbox = {{ protect_system = \"maybe\" }}\n"), "DIR/berth.toml:3:30: sandbox.protect_system: bad value \"maybe\": expected full, strict, yes or no"),
        ("session = \"a\"\n".into(), "DIR/berth.toml:1:11: [session]: expected a table, found a string"),
    ];
    assert!(cases.len() >= 25);
    for (config, expected) in &cases {
        let errors = errors_of(config, &[]);
        assert!(
            errors.iter().any(|e| e == expected),
            "config:\n{config}\nexpected: {expected}\ngot: {errors:#?}"
        );
    }
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let errors = errors_of(
        "[daemon]\nbakend = \"auto\"\n[session.a]\ncommand = 1\n[session.b]\ncommand = [\"x\"]\nsize = \"big\"\nuser = \"no-such-user-berth\"\n",
        &[],
    );
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(errors[0].starts_with("DIR/berth.toml:2:1: unknown key \"bakend\""));
    assert!(errors[1].starts_with("DIR/berth.toml:4:11: command:"));
    assert!(errors[2].starts_with("DIR/berth.toml:7:8: size:"));
    assert!(errors[3].starts_with("DIR/berth.toml:8:8: user"));
}

#[test]
fn duplicates_across_files_and_foreign_keys_in_includes() {
    let main = "[daemon]\ninclude = [\"sessions.d/*.toml\"]\n[session.ci]\ncommand = [\"run\"]\n";
    let errors = errors_of(
        main,
        &[
            ("a.toml", "[session.ci]\ncommand = [\"other\"]\n"),
            ("b.toml", "[defaults]\nrestart = \"always\"\n"),
        ],
    );
    assert_eq!(
        errors,
        vec![
            "DIR/sessions.d/a.toml:1:10: duplicate session \"ci\": already declared at DIR/berth.toml:3".to_owned(),
            "DIR/sessions.d/b.toml:1:2: \"defaults\" does not belong in an included file: only [session.NAME] tables do (put it in DIR/berth.toml)".to_owned(),
        ]
    );
}

#[test]
fn a_valid_config_applies_defaults_and_includes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sessions.d")).unwrap();
    std::fs::write(
        dir.path().join("berth.toml"),
        "[daemon]\nbackend = \"embedded\"\ninclude = [\"sessions.d/*.toml\"]\n[defaults]\nrestart = \"always\"\nscrollback = 500\naccess.observers = [\"root\"]\n[session.repl]\ncommand = [\"python3\", \"-i\"]\nscrollback = 20\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("sessions.d/ci.toml"), "[session.ci]\ncommand = \"echo hi; sleep 1\"\nrecord = true\nrecord_input = true\nlimits = { memory = \"2G\", cpu = \"150%\", tasks = 512 }\n").unwrap();
    let config = load(&dir.path().join("berth.toml"), SYSTEM).unwrap();
    assert_eq!(config.backend, berth_config::model::Backend::Embedded);
    assert_eq!(config.files.len(), 2);
    let repl = &config.sessions["repl"];
    assert_eq!(repl.scrollback, 20);
    assert_eq!(repl.restart, berth_config::model::RestartMode::Always);
    assert_eq!(
        repl.access.observers,
        vec![berth_config::model::Principal::User("root".into())]
    );
    assert_eq!(repl.access.group, "berth");
    let ci = &config.sessions["ci"];
    assert_eq!(ci.command.argv(), vec!["/bin/sh", "-c", "echo hi; sleep 1"]);
    assert_eq!(ci.scrollback, 500);
    assert!(ci.record && ci.record_input);
    assert!(
        !repl.record && !repl.record_input,
        "recording is off by default"
    );
    assert_eq!(ci.limits.memory, Some(2 << 30));
    assert_eq!(ci.limits.cpu_percent, Some(150));
    assert!(Path::new(&ci.origin.file).ends_with("sessions.d/ci.toml"));
}

#[test]
fn bytes_that_are_not_utf8_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.toml");
    std::fs::write(&path, b"[session.a]\ncommand = [\"a\"]\nuser = \"\xff\"\n").unwrap();
    let errors = load(&path, SYSTEM).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        format!(
            "{}:3:9: not UTF-8 text here: a config file must be UTF-8",
            path.display()
        )
    );
}

#[test]
fn settings_only_systemd_applies_are_refused_on_the_embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.toml");
    std::fs::write(
        &path,
        "[defaults]\nlimits = { tasks = 64 }\n\n[session.a]\ncommand = [\"bash\"]\nlimits = { memory = \"1G\", cpu = \"50%\" }\nsandbox = { private_tmp = true, protect_system = \"strict\", no_new_privileges = true }\ndynamic_user = true\nafter = [\"b\"]\n\n[session.b]\ncommand = [\"bash\"]\nsandbox = { no_new_privileges = false }\n",
    )
    .unwrap();
    let embedded = Checks {
        systemd: Some(false),
        ..SYSTEM
    };
    let errors: Vec<String> = load(&path, embedded)
        .unwrap_err()
        .iter()
        .map(|e| {
            e.to_string()
                .replace(&dir.path().display().to_string(), "DIR")
        })
        .collect();
    let why = "is applied by the systemd backend only, and these sessions run on the embedded backend: remove it, or run berthd where systemd is PID 1 (backend = \"systemd\")";
    assert_eq!(
        errors,
        [
            format!("DIR/berth.toml:4:10: limits.tasks (from [defaults]) {why}"),
            format!("DIR/berth.toml:6:12: limits.memory {why}"),
            format!("DIR/berth.toml:6:27: limits.cpu {why}"),
            format!("DIR/berth.toml:7:13: sandbox.private_tmp {why}"),
            format!("DIR/berth.toml:7:33: sandbox.protect_system {why}"),
            format!("DIR/berth.toml:8:16: dynamic_user {why}"),
            format!("DIR/berth.toml:11:10: limits.tasks (from [defaults]) {why}"),
        ]
    );
    // A unit in `after` is systemd's to order.
    let unit = dir.path().join("unit.toml");
    std::fs::write(
        &unit,
        "[session.a]\ncommand = [\"bash\"]\nafter = [\"network-online.target\"]\n",
    )
    .unwrap();
    assert_eq!(
        load(&unit, embedded).unwrap_err()[0]
            .to_string()
            .replace(&dir.path().display().to_string(), "DIR"),
        format!("DIR/unit.toml:3:9: after (a systemd unit) {why}")
    );
    // Under systemd the same file is valid.
    let systemd = SYSTEM;
    assert!(load(&path, systemd).is_ok());
    // And a backend that cannot run here is named at its key.
    std::fs::write(&path, "[daemon]\nbackend = \"systemd\"\n").unwrap();
    let user = Checks::new(Mode::User);
    let errors = load(&path, user).unwrap_err();
    assert_eq!(
        errors[0].to_string().replace(&dir.path().display().to_string(), "DIR"),
        "DIR/berth.toml:2:11: backend: the systemd backend needs system mode (berthd as root, without --user); use the embedded backend"
    );
}

#[test]
fn web_is_accepted_in_both_modes() {
    // User mode: berth-web runs as that user and serves that user alone.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.toml");
    std::fs::write(&path, "[web]\nlisten = \"127.0.0.1:7681\"\n").unwrap();
    assert!(load(&path, Checks::new(Mode::User)).is_ok());
    assert!(load(&path, SYSTEM).is_ok());
}

#[test]
fn log_to_the_journal_needs_journald() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.toml");
    std::fs::write(
        &path,
        "[session.a]\ncommand = [\"bash\"]\nlog = \"journal\"\n",
    )
    .unwrap();
    let result = load(&path, SYSTEM);
    if Path::new("/run/systemd/journal/socket").exists() {
        assert!(result.is_ok(), "{result:?}");
    } else {
        assert_eq!(
            result.unwrap_err()[0].to_string(),
            format!("{}:3:7: log = \"journal\" needs systemd-journald, which is not running here (no /run/systemd/journal/socket): use log = \"file\"", path.display())
        );
    }
}

#[test]
fn broken_dashboards() {
    let a = format!("[session.a]\n{OK}");
    let cases: Vec<(String, &str)> = vec![
        (format!("{a}[dashboard.ops]\nsessions = [\"a\", \"wrker\"]\n"), "DIR/berth.toml:4:18: [dashboard.ops] sessions: no session \"wrker\" (declare it, or use a glob)"),
        (format!("{a}[dashboard.ops]\nsessions = [\"b\"]\n"), "DIR/berth.toml:4:13: [dashboard.ops] sessions: no session \"b\" (did you mean \"a\"? declare it, or use a glob)"),
        (format!("{a}[dashboard.ops]\nsessions = [\"a\"]\nlayout = \"grid\"\n"), "DIR/berth.toml:5:10: [dashboard.ops] bad layout \"grid\": expected auto, tiled, even-horizontal, even-vertical, main-vertical, main-horizontal"),
        (format!("{a}[dashboard.ops]\nsessions = [\"a\"]\nlayuot = \"tiled\"\n"), "DIR/berth.toml:5:1: unknown key \"layuot\" in [dashboard.ops] (did you mean \"layout\"?)"),
        (format!("{a}[dashboard.ops]\nlayout = \"tiled\"\n"), "DIR/berth.toml:3:12: [dashboard.ops] has no sessions: add sessions = [\"NAME\", \"GLOB*\"]"),
        (format!("{a}[dashboard.ops]\nsessions = []\n"), "DIR/berth.toml:4:12: [dashboard.ops] sessions is empty: list session names or globs, like [\"ci-*\", \"db\"]"),
        (format!("{a}[dashboard.ops]\nsessions = \"a\"\n"), "DIR/berth.toml:4:12: sessions: expected an array of strings, found a string"),
        (format!("{a}[dashboard.ops]\nsessions = [\"ci-[\"]\n"), "DIR/berth.toml:4:13: [dashboard.ops] sessions: bad session pattern \"ci-[\": invalid range pattern"),
        (format!("{a}[dashboard.\"o p\"]\nsessions = [\"a\"]\n"), "DIR/berth.toml:3:12: bad dashboard name \"o p\": use 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"),
        (format!("{a}[dashboard]\nops = 3\n"), "DIR/berth.toml:4:7: [dashboard.ops]: expected a table, found an integer"),
    ];
    for (text, want) in cases {
        assert_eq!(errors_of(&text, &[]), [want], "for config:\n{text}");
    }
}

#[test]
fn dashboards_load_with_their_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.toml");
    std::fs::write(
        &path,
        format!("[session.db]\n{OK}[session.ci-1]\n{OK}[dashboard.triad]\nsessions = [\"db\", \"ci-*\"]\nlayout = \"main-vertical\"\n[dashboard.all]\nsessions = [\"*\"]\n"),
    )
    .unwrap();
    let config = load(&path, SYSTEM).unwrap();
    let triad = &config.dashboards["triad"];
    assert_eq!(triad.layout, berth_config::dashboard::Layout::MainVertical);
    let names: Vec<String> = config.sessions.keys().cloned().collect();
    assert_eq!(
        berth_config::dashboard::select(&triad.sessions, &names),
        ["db", "ci-1"]
    );
    assert_eq!(
        (triad.line, config.dashboards["all"].layout),
        (5, berth_config::dashboard::Layout::Auto)
    );
}

#[test]
fn broken_web() {
    let a = format!("[session.a]\n{OK}");
    let cases: Vec<(String, &str)> = vec![
        (format!("{a}[web]\nlisten = \"0.0.0.0:7681\"\n"), "DIR/berth.toml:4:10: [web] listen = \"0.0.0.0:7681\" is reachable from other hosts: set tls_cert and tls_key to serve it over HTTPS, or listen on 127.0.0.1 or a Unix socket behind a proxy"),
        (format!("{a}[web]\nlisten = \"web:80\"\n"), "DIR/berth.toml:4:10: listen: \"web:80\" is not an address and port like \"127.0.0.1:7681\" or an absolute Unix socket path like \"/run/berth/web.sock\""),
        (format!("{a}[web]\nallow_input = true\n"), "DIR/berth.toml:3:1: [web] needs listen = \"127.0.0.1:7681\" (or a Unix socket path)"),
        (format!("{a}[web]\nlisten = \"127.0.0.1:7681\"\nlisen = 1\n"), "DIR/berth.toml:5:1: unknown key \"lisen\" in [web] (did you mean \"listen\"?)"),
        (format!("{a}[web]\nlisten = \"192.0.2.1:443\"\ntls_cert = \"/etc/ssl/web.pem\"\n"), "DIR/berth.toml:5:12: tls_cert is set without tls_key: set both (PEM files)"),
        (format!("{a}[web]\nlisten = \"127.0.0.1:7681\"\ntls_key = \"key.pem\"\n"), "DIR/berth.toml:5:11: tls_key: \"key.pem\" is not an absolute path"),
        (format!("{a}[web]\nlisten = \"127.0.0.1:7681\"\ntoken_ttl = \"10s\"\n"), "DIR/berth.toml:5:13: token_ttl: a login must last at least 1m (like \"12h\")"),
        (format!("{a}[web]\nlisten = \"127.0.0.1:7681\"\ntoken_ttl = \"a day\"\n"), "DIR/berth.toml:5:13: token_ttl: bad duration \"a day\": expected seconds, or a number with a unit, like \"10\", \"500ms\", \"90s\", \"5m\", \"1h30m\""),
        (format!("{a}[web]\nlisten = \"127.0.0.1:7681\"\nallow_input = \"yes\"\n"), "DIR/berth.toml:5:15: allow_input: expected true or false, found a string"),
        (format!("{a}[web]\nlisten = \"127.0.0.1:7681\"\nmetrics = \"public\"\n"), "DIR/berth.toml:5:11: metrics: \"public\" is not one of \"loopback\", \"token\", \"off\""),
        (format!("{a}[web]\nlisten = \"127.0.0.1:7681\"\nmetrics = \"token\"\n"), "DIR/berth.toml:5:11: metrics = \"token\" needs metrics_token_file = \"/etc/berth/metrics.token\""),
        (format!("{a}[web]\nlisten = \"127.0.0.1:7681\"\nmetrics_token_file = \"/etc/berth/m\"\n"), "DIR/berth.toml:5:22: metrics_token_file is only read with metrics = \"token\": set that, or remove it"),
        (format!("web = \"on\"\n{a}"), "DIR/berth.toml:1:7: [web]: expected a table, found a string"),
        (format!("{a}[web]\nlisten = \"/run/berth/web.sock\"\ntls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\n"), "DIR/berth.toml:4:10: [web] tls_cert and tls_key are for a TCP address: behind a Unix socket the proxy in front serves HTTPS (remove them, or listen on an address)"),
    ];
    for (text, want) in cases {
        assert_eq!(errors_of(&text, &[]), [want], "for config:\n{text}");
    }
}

#[test]
fn web_loads_with_its_defaults_and_tls() {
    use berth_config::web::{Listen, Metrics, Tls, DEFAULT_TOKEN_TTL};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berth.toml");
    std::fs::write(
        &path,
        format!("[session.a]\n{OK}[web]\nlisten = \"localhost:7681\"\n"),
    )
    .unwrap();
    let web = load(&path, SYSTEM).unwrap().web.unwrap();
    assert_eq!(web.listen, Listen::Tcp("127.0.0.1:7681".parse().unwrap()));
    assert_eq!(
        (web.tls, web.allow_input, web.token_ttl, web.metrics),
        (None, false, DEFAULT_TOKEN_TTL, Metrics::Loopback)
    );
    std::fs::write(
        &path,
        format!("[session.a]\n{OK}[web]\nlisten = \"0.0.0.0:443\"\ntls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\nallow_input = true\ntoken_ttl = \"30m\"\nmetrics = \"token\"\nmetrics_token_file = \"/t\"\n"),
    )
    .unwrap();
    let web = load(&path, SYSTEM).unwrap().web.unwrap();
    assert_eq!(
        web.tls,
        Some(Tls {
            cert: "/c.pem".into(),
            key: "/k.pem".into()
        })
    );
    assert!(web.allow_input);
    assert_eq!(
        (web.token_ttl.as_secs(), web.metrics),
        (1800, Metrics::Token("/t".into()))
    );
    std::fs::write(&path, format!("[session.a]\n{OK}")).unwrap();
    assert_eq!(load(&path, SYSTEM).unwrap().web, None);
}

/// A file berthd would run as root what it declares from, that someone
/// else could have written, is refused at its path (the files are this
/// test's, so it believes its own uid as berthd believes root's; the
/// same check as root is in tests/trust.rs).
#[test]
fn files_anyone_else_may_write_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let chmod = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("berth.toml");
    std::fs::write(
        &main,
        format!("[daemon]\ninclude = [\"sessions.d/*.toml\"]\n[session.a]\n{OK}"),
    )
    .unwrap();
    chmod(&main, 0o644);
    let includes = dir.path().join("sessions.d");
    std::fs::create_dir(&includes).unwrap();
    chmod(&includes, 0o755);
    let include = includes.join("b.toml");
    std::fs::write(&include, format!("[session.b]\n{OK}")).unwrap();
    chmod(&include, 0o644);
    let checks = Checks {
        trust: Some(nix::unistd::geteuid().as_raw()),
        ..SYSTEM
    };
    assert!(load(&main, checks).is_ok());
    let why = "berthd runs what it declares as root, so it and its directories must be root's and writable by root alone (chown root:root, chmod go-w)";
    let errors = |checks| -> Vec<String> {
        load(&main, checks)
            .unwrap_err()
            .iter()
            .map(|e| {
                e.to_string()
                    .replace(&dir.path().display().to_string(), "DIR")
            })
            .collect()
    };
    chmod(&include, 0o664);
    assert_eq!(
        errors(checks),
        [format!("DIR/sessions.d/b.toml: refusing this file: it is writable by group or others (mode 0664); {why}")]
    );
    chmod(&include, 0o644);
    chmod(&includes, 0o777);
    chmod(&main, 0o666);
    assert_eq!(
        errors(checks),
        [
            format!("DIR/berth.toml: refusing this file: it is writable by group or others (mode 0666); {why}"),
            format!("DIR/sessions.d/b.toml: refusing this file: DIR/sessions.d is writable by group or others (mode 0777); {why}"),
        ]
    );
}
