//! What a valid configuration says, with every default applied.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How berthd runs sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// systemd when it is PID 1, else embedded.
    Auto,
    Systemd,
    Embedded,
}

/// Whether an `after` entry names a systemd unit (`network-online.target`,
/// `postgresql.service`) rather than a berth session.
pub fn is_unit_name(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        ".service",
        ".target",
        ".socket",
        ".mount",
        ".timer",
        ".path",
        ".slice",
        ".scope",
        ".device",
        ".swap",
        ".automount",
    ];
    SUFFIXES.iter().any(|s| name.ends_with(s))
}

impl Backend {
    /// Reads `auto`, `systemd` or `embedded` (the config key and berthd's flag).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Backend::Auto),
            "systemd" => Ok(Backend::Systemd),
            "embedded" => Ok(Backend::Embedded),
            other => Err(format!(
                "bad backend {other:?}: expected auto, systemd or embedded"
            )),
        }
    }

    /// Whether systemd is PID 1 here (what sd_booted(3) checks).
    pub fn systemd_booted() -> bool {
        std::path::Path::new("/run/systemd/system").is_dir()
    }

    /// Whether sessions become systemd units: the one rule berthd applies
    /// and `berth validate` predicts. `booted`: systemd is PID 1.
    pub fn uses_systemd(self, mode: crate::paths::Mode, booted: bool) -> Result<bool, String> {
        use crate::paths::Mode;
        match self {
            Backend::Auto => Ok(booted && mode == Mode::System),
            Backend::Embedded => Ok(false),
            Backend::Systemd if mode == Mode::User => Err(
                "the systemd backend needs system mode (berthd as root, without --user); use the embedded backend".into(),
            ),
            Backend::Systemd if !booted => Err(
                "the systemd backend needs systemd as PID 1, and it is not; use the embedded backend".into(),
            ),
            Backend::Systemd => Ok(true),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartMode {
    Always,
    OnFailure,
    Never,
}

impl RestartMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::OnFailure => "on-failure",
            Self::Never => "never",
        }
    }
}

impl std::str::FromStr for RestartMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "always" => Ok(Self::Always),
            "on-failure" => Ok(Self::OnFailure),
            "never" => Ok(Self::Never),
            other => Err(format!(
                "bad restart policy {other:?}: expected always, on-failure or never"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizePolicy {
    /// The smallest of the read-write clients' terminals (tmux's default).
    Smallest,
    /// The read-write client that attached or resized last.
    Latest,
}

impl SizePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smallest => "smallest",
            Self::Latest => "latest",
        }
    }
}

impl std::str::FromStr for SizePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "smallest" => Ok(Self::Smallest),
            "latest" => Ok(Self::Latest),
            other => Err(format!(
                "bad size policy {other:?}: expected smallest or latest"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    File,
    Journal,
    None,
}

/// The program: an argument vector, or a string run by `/bin/sh -c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Argv(Vec<String>),
    Shell(String),
}

impl Command {
    pub fn argv(&self) -> Vec<String> {
        match self {
            Command::Argv(v) => v.clone(),
            Command::Shell(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
        }
    }
}

/// Someone named in `access.operators` / `access.observers`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Principal {
    User(String),
    Group(String),
}

impl std::str::FromStr for Principal {
    type Err = String;
    /// `alice` or `group:oncall`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.strip_prefix("group:") {
            Some("") => Err("empty group name in \"group:\"".into()),
            Some(g) => Ok(Self::Group(g.to_owned())),
            None if s.is_empty() => Err("empty user name".into()),
            None => Ok(Self::User(s.to_owned())),
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::User(u) => f.write_str(u),
            Principal::Group(g) => write!(f, "group:{g}"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub operators: Vec<Principal>,
    pub observers: Vec<Principal>,
    /// Group owning the socket (mode 0660 in system mode).
    pub group: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory: Option<u64>,
    /// Percent of one CPU, e.g. 150.
    pub cpu_percent: Option<u32>,
    pub tasks: Option<u32>,
}

/// systemd sandboxing for the session's unit (systemd backend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    pub no_new_privileges: bool,
    /// ProtectSystem=: "full", "strict", "yes" or "no".
    pub protect_system: String,
    pub private_tmp: bool,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self {
            no_new_privileges: true,
            protect_system: "full".into(),
            private_tmp: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartLimit {
    pub burst: u32,
    pub interval: Duration,
}

/// Where a session was declared, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

/// One session, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub name: String,
    pub command: Command,
    pub user: Option<String>,
    pub create_user: bool,
    pub allow_root: bool,
    pub dynamic_user: bool,
    /// bash, zsh and fish sessions mark prompts and commands (OSC 133).
    pub shell_integration: bool,
    pub cwd: Option<PathBuf>,
    pub env: BTreeMap<String, String>,
    pub restart: RestartMode,
    pub restart_delay: Duration,
    pub restart_max_delay: Duration,
    pub restart_limit: RestartLimit,
    pub scrollback: usize,
    pub size: (u16, u16),
    pub size_policy: SizePolicy,
    pub log: LogTarget,
    pub log_max_size: u64,
    pub log_keep: u32,
    /// An asciicast v3 recording beside the output log (`record`).
    pub record: bool,
    /// The recording holds what was typed too (`record_input`).
    pub record_input: bool,
    pub access: Access,
    pub after: Vec<String>,
    pub limits: Limits,
    pub sandbox: Sandbox,
    pub origin: Origin,
}

impl Session {
    /// A session with every setting at its default (`defaults.rs`): what a
    /// host known only by its record is taken to be until the config
    /// names it.
    pub fn with_defaults(name: &str, command: Command) -> Self {
        use crate::defaults as d;
        Self {
            name: name.to_owned(),
            command,
            user: None,
            create_user: false,
            allow_root: false,
            dynamic_user: false,
            shell_integration: crate::defaults::SHELL_INTEGRATION,
            cwd: None,
            env: BTreeMap::new(),
            restart: RestartMode::OnFailure,
            restart_delay: d::RESTART_DELAY,
            restart_max_delay: d::RESTART_MAX_DELAY,
            restart_limit: RestartLimit {
                burst: d::RESTART_LIMIT_BURST,
                interval: d::RESTART_LIMIT_INTERVAL,
            },
            scrollback: d::SCROLLBACK_LINES,
            size: (d::COLS, d::ROWS),
            size_policy: SizePolicy::Smallest,
            log: LogTarget::File,
            log_max_size: d::LOG_MAX_SIZE,
            log_keep: d::LOG_KEEP,
            record: false,
            record_input: false,
            access: Access {
                operators: Vec::new(),
                observers: Vec::new(),
                group: d::ACCESS_GROUP.to_owned(),
            },
            after: Vec::new(),
            limits: Limits::default(),
            sandbox: Sandbox::default(),
            origin: Origin {
                file: PathBuf::new(),
                line: 0,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub backend: Backend,
    /// `[daemon] admins`: who besides root may run host-wide verbs
    /// (`reload`, `new`).
    pub admins: Vec<Principal>,
    /// Every file read, main first.
    pub files: Vec<PathBuf>,
    pub sessions: BTreeMap<String, Session>,
    /// `[dashboard.NAME]`: views for `berth watch --dashboard NAME`.
    pub dashboards: BTreeMap<String, crate::dashboard::Dashboard>,
    /// `[web]`: the browser dashboard and `/metrics`; `None`: nothing listens.
    pub web: Option<crate::web::Web>,
    /// `[defaults]` as written, for sessions made later (`berth new`).
    pub(crate) defaults: crate::load::Keys,
}
