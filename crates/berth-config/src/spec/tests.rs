use std::time::Duration;

use super::*;
use crate::model::{Command, Principal};

fn session() -> Session {
    let mut s = Session::with_defaults("ci", Command::Argv(vec!["run".into(), "--once".into()]));
    s.env.insert("A".into(), "1".into());
    s
}

fn args(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_owned).collect()
}

#[test]
fn a_spec_survives_its_command_line() {
    // Every setting away from its default, so a flag left out of to_args
    // (or read back into the wrong field) shows.
    let spec = HostSpec {
        name: "ci".into(),
        socket: "/r/ci.sock".into(),
        user: Some("svc-ci".into()),
        operators: vec![
            Principal::Group("oncall".into()),
            Principal::User("alice".into()),
        ],
        observers: vec![Principal::Group("dev".into())],
        log: Some("/logs/ci.log".into()),
        log_max_size: 1024,
        log_keep: 2,
        log_journal: false,
        record: true,
        record_input: true,
        no_new_privileges: true,
        scrollback: 100,
        handshake_timeout: Duration::from_secs(9),
        stop_grace: Duration::from_secs(2),
        program: ProgramSpec {
            size: (80, 24),
            size_policy: SizePolicy::Latest,
            restart: RestartMode::Always,
            restart_delay: Duration::from_millis(500),
            restart_max_delay: Duration::from_secs(7),
            restart_burst: 9,
            restart_interval: Duration::from_secs(30),
            cwd: Some("/srv".into()),
            shell_integration: false,
            env: vec![("A".into(), "1".into()), ("B".into(), "x=y".into())],
            command: args("run --once -- x"),
        },
    };
    assert_eq!(HostSpec::from_args(&spec.to_args()), Ok(spec.clone()));
    let journal = HostSpec {
        log: None,
        log_journal: true,
        record: false,
        record_input: false,
        user: None,
        ..spec
    };
    assert_eq!(HostSpec::from_args(&journal.to_args()), Ok(journal));
}

#[test]
fn defaults_are_the_configs() {
    let spec = HostSpec::from_args(&args("--name ci --socket /s.sock -- sh")).unwrap();
    let mut s = Session::with_defaults("ci", Command::Argv(vec!["sh".into()]));
    // A switch: off unless given (the config's default turns it on).
    s.sandbox.no_new_privileges = false;
    let from_config = HostSpec::for_session(&s, "/s.sock".into(), None, None);
    assert_eq!(spec, from_config);
}

#[test]
fn the_line_reads_as_the_flags_it_sets() {
    let spec = HostSpec::for_session(
        &session(),
        "/r/ci.sock".into(),
        Some("/logs/ci.log".into()),
        None,
    );
    assert_eq!(
        spec.to_args().join(" "),
        "--name ci --socket /r/ci.sock --log /logs/ci.log --log-max-size 67108864 --log-keep 5 --no-new-privileges --scrollback 10000 --handshake-timeout 5s --stop-grace 5s --size 120x40 --size-policy smallest --restart on-failure --restart-delay 1s --restart-max-delay 1m --restart-burst 5 --restart-interval 5m --shell-integration true --env A=1 -- run --once"
    );
}

#[test]
fn compare_names_what_changed_and_whose_it_is() {
    let s = session();
    let line =
        |s: &Session| HostSpec::for_session(s, "/s.sock".into(), Some("/l".into()), None).to_args();
    assert!(compare(&line(&s), &line(&s)).is_empty());

    let mut t = s.clone();
    t.command = Command::Argv(vec!["other".into()]);
    t.env.insert("B".into(), "2".into());
    t.restart = RestartMode::Never;
    let c = compare(&line(&s), &line(&t));
    assert_eq!(c.host, Vec::<String>::new());
    assert_eq!(c.program, ["command", "env", "restart"]);

    t.scrollback = 5;
    t.access.observers = vec![Principal::User("bob".into())];
    let c = compare(&line(&s), &line(&t));
    assert_eq!(c.host, ["observer", "scrollback"]);
    assert_eq!(c.program, ["command", "env", "restart"]);
    assert_eq!(c.to_string(), "observer, scrollback, command, env, restart");

    let c = compare(&args("--name ci --old-flag"), &line(&s));
    assert_eq!(c.host, ["the host command line"]);
}

#[test]
fn bad_lines_get_one_line_errors() {
    let e =
        HostSpec::from_args(&args("--name ci --socket /s --restart sometimes -- sh")).unwrap_err();
    assert!(
        e.starts_with("invalid value 'sometimes' for '--restart <RESTART>'"),
        "{e}"
    );
    assert!(!e.contains('\n'));
}
