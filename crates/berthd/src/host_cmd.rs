//! The `berth-session` command line for a session: how berthd starts a host,
//! and the fingerprint that says whether a running host matches the config.

use std::path::Path;

use berth_config::model::{LogTarget, Session};
use berth_config::values::format_duration;

/// Flags and program for `berth-session`, without the socket descriptor
/// (which differs per start). Equal lines mean "unchanged" on reload.
/// `account`: the account the host must switch to (system mode, embedded
/// backend; under systemd the unit already runs as it). `system`: system
/// mode, where each session's log has a directory of its own.
pub fn host_args(
    s: &Session,
    socket: &Path,
    log_dir: &Path,
    account: Option<&str>,
    system: bool,
) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "--name".into(),
        s.name.clone(),
        "--socket".into(),
        socket.display().to_string(),
    ];
    let mut flag = |k: &str, v: String| {
        a.push(format!("--{k}"));
        a.push(v);
    };
    if let Some(user) = account {
        flag("user", user.to_owned());
    }
    for p in &s.access.operators {
        flag("operator", p.to_string());
    }
    for p in &s.access.observers {
        flag("observer", p.to_string());
    }
    if s.log == LogTarget::File {
        flag("log", log_path(s, log_dir, system).display().to_string());
        flag("log-max-size", s.log_max_size.to_string());
        flag("log-keep", s.log_keep.to_string());
    }
    flag("scrollback", s.scrollback.to_string());
    flag("size", format!("{}x{}", s.size.0, s.size.1));
    flag("size-policy", s.size_policy.as_str().into());
    flag("restart", s.restart.as_str().into());
    flag("restart-delay", format_duration(s.restart_delay));
    flag("restart-max-delay", format_duration(s.restart_max_delay));
    flag("restart-burst", s.restart_limit.burst.to_string());
    flag(
        "restart-interval",
        format_duration(s.restart_limit.interval),
    );
    if let Some(cwd) = &s.cwd {
        flag("cwd", cwd.display().to_string());
    }
    for (k, v) in &s.env {
        flag("env", format!("{k}={v}"));
    }
    if s.log == LogTarget::Journal {
        a.push("--log-journal".into());
    }
    if s.sandbox.no_new_privileges {
        a.push("--no-new-privileges".into());
    }
    a.push("--".into());
    a.extend(s.command.argv());
    a
}

/// Flags that only concern the program: a reload that changes nothing
/// else restarts the program inside the running host (the screen stays).
/// Each takes one value; the program follows `--`.
const PROGRAM_FLAGS: &[&str] = &[
    "--cwd",
    "--env",
    "--restart",
    "--restart-delay",
    "--restart-max-delay",
    "--restart-burst",
    "--restart-interval",
    "--size",
    "--size-policy",
];

/// The part of a host command line that needs a new host when it changes:
/// `args` without the program and its settings.
pub fn host_part(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if PROGRAM_FLAGS.contains(&a.as_str()) {
            it.next();
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// Every value given to `flag` ("--operator") in a host command line.
pub fn flag_values<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    args[..end]
        .windows(2)
        .filter(|w| w[0] == flag)
        .map(|w| w[1].as_str())
        .collect()
}

/// Settings of a session that live in its systemd unit, not in the host's
/// command line; part of the "changed?" fingerprint so a reload applies them.
pub fn unit_settings(s: &Session) -> Vec<String> {
    let mut v = vec![
        format!("DynamicUser={}", s.dynamic_user),
        format!("NoNewPrivileges={}", s.sandbox.no_new_privileges),
        format!("ProtectSystem={}", s.sandbox.protect_system),
        format!("PrivateTmp={}", s.sandbox.private_tmp),
    ];
    if let Some(m) = s.limits.memory {
        v.push(format!("MemoryMax={m}"));
    }
    if let Some(c) = s.limits.cpu_percent {
        v.push(format!("CPUQuota={c}%"));
    }
    if let Some(t) = s.limits.tasks {
        v.push(format!("TasksMax={t}"));
    }
    for a in &s.after {
        // A session is its unit; anything else is a unit already.
        if berth_config::model::is_unit_name(a) {
            v.push(format!("After={a}"));
        } else {
            v.push(format!("After={}", crate::backend::systemd::service(a)));
        }
    }
    v
}

/// The output log. In system mode each session has a directory of its own,
/// owned by its account, so the unprivileged host can rotate its files.
pub fn log_path(s: &Session, log_dir: &Path, system: bool) -> std::path::PathBuf {
    if system {
        log_dir.join(&s.name).join(format!("{}.log", s.name))
    } else {
        log_dir.join(format!("{}.log", s.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_config::model::*;
    use std::time::Duration;

    pub fn session(name: &str, command: &[&str]) -> Session {
        Session {
            name: name.into(),
            command: Command::Argv(command.iter().map(|s| s.to_string()).collect()),
            user: None,
            create_user: false,
            allow_root: false,
            dynamic_user: false,
            cwd: None,
            env: [("A".to_string(), "1".to_string())].into(),
            restart: RestartMode::Always,
            restart_delay: Duration::from_secs(1),
            restart_max_delay: Duration::from_secs(60),
            restart_limit: RestartLimit {
                burst: 5,
                interval: Duration::from_secs(300),
            },
            scrollback: 100,
            size: (80, 24),
            size_policy: SizePolicy::Smallest,
            log: LogTarget::File,
            log_max_size: 1024,
            log_keep: 2,
            access: Access::default(),
            after: vec![],
            limits: Limits::default(),
            sandbox: Sandbox::default(),
            origin: Origin {
                file: "x.toml".into(),
                line: 1,
            },
        }
    }

    #[test]
    fn flags_mirror_the_session() {
        let a = host_args(
            &session("ci", &["run", "--once"]),
            Path::new("/r/sessions/ci.sock"),
            Path::new("/logs"),
            None,
            false,
        );
        let line = a.join(" ");
        assert_eq!(
            line,
            "--name ci --socket /r/sessions/ci.sock --log /logs/ci.log --log-max-size 1024 --log-keep 2 --scrollback 100 --size 80x24 --size-policy smallest --restart always --restart-delay 1s --restart-max-delay 1m --restart-burst 5 --restart-interval 5m --env A=1 --no-new-privileges -- run --once"
        );
    }

    #[test]
    fn the_host_part_leaves_out_the_program() {
        let mut s = session("ci", &["run", "--once"]);
        s.cwd = Some("/srv".into());
        let a = host_args(&s, Path::new("/s.sock"), Path::new("/logs"), None, false);
        assert_eq!(
            host_part(&a).join(" "),
            "--name ci --socket /s.sock --log /logs/ci.log --log-max-size 1024 --log-keep 2 --scrollback 100 --no-new-privileges"
        );
        let mut t = s.clone();
        t.command = Command::Argv(vec!["other".into()]);
        t.env.insert("B".into(), "2".into());
        t.restart = RestartMode::Never;
        t.size = (100, 30);
        let b = host_args(&t, Path::new("/s.sock"), Path::new("/logs"), None, false);
        assert_ne!(a, b);
        assert_eq!(host_part(&a), host_part(&b));
        t.scrollback = 5;
        let c = host_args(&t, Path::new("/s.sock"), Path::new("/logs"), None, false);
        assert_ne!(host_part(&a), host_part(&c));
    }

    #[test]
    fn system_mode_adds_the_account_and_access() {
        let mut s = session("ci", &["run"]);
        s.access.operators = vec![
            Principal::Group("oncall".into()),
            Principal::User("alice".into()),
        ];
        s.access.observers = vec![Principal::Group("dev".into())];
        let line = host_args(
            &s,
            Path::new("/run/berth/sessions/ci.sock"),
            Path::new("/var/log/berth"),
            Some("svc-ci"),
            true,
        )
        .join(" ");
        assert!(line.starts_with("--name ci --socket /run/berth/sessions/ci.sock --user svc-ci --operator group:oncall --operator alice --observer group:dev --log /var/log/berth/ci/ci.log "), "{line}");
        let args: Vec<String> = line.split(' ').map(str::to_owned).collect();
        assert_eq!(flag_values(&args, "--operator"), ["group:oncall", "alice"]);
        assert_eq!(flag_values(&args, "--observer"), ["group:dev"]);
    }
}
