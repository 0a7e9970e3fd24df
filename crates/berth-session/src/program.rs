//! Starting the program on the session's PTY with a clean environment.

use std::path::PathBuf;

use berth_config::defaults;

/// Who the program runs as (the host's own account: it changed to the
/// service account before starting, see DESIGN.md "Security").
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: String,
    pub uid: u32,
    pub home: PathBuf,
    pub shell: PathBuf,
}

impl Identity {
    /// The account this process runs as.
    pub fn current() -> Self {
        let uid = nix::unistd::geteuid();
        match nix::unistd::User::from_uid(uid) {
            Ok(Some(u)) => Self {
                user: u.name,
                uid: uid.as_raw(),
                home: u.dir,
                shell: u.shell,
            },
            // No passwd entry (a systemd DynamicUser= where nss-systemd is
            // not configured): systemd still tells the unit who it is.
            _ => {
                let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
                Self {
                    user: env("USER")
                        .map_or_else(|| uid.to_string(), |u| u.to_string_lossy().into_owned()),
                    uid: uid.as_raw(),
                    home: env("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from),
                    shell: env("SHELL").map_or_else(|| PathBuf::from("/bin/sh"), PathBuf::from),
                }
            }
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ProgramSpec {
    pub command: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// Added to the base environment, overriding it.
    pub env: Vec<(String, String)>,
    pub identity: Identity,
}

impl ProgramSpec {
    /// The base environment (nothing from the host's own), then `env`.
    pub fn environment(&self) -> Vec<(String, String)> {
        let id = &self.identity;
        let mut env: Vec<(String, String)> = vec![
            ("HOME".into(), id.home.display().to_string()),
            ("USER".into(), id.user.clone()),
            ("LOGNAME".into(), id.user.clone()),
            ("SHELL".into(), id.shell.display().to_string()),
            ("PATH".into(), defaults::PATH.into()),
            ("TERM".into(), defaults::TERM.into()),
            ("LANG".into(), defaults::LANG.into()),
        ];
        for (k, v) in &self.env {
            env.retain(|(key, _)| key != k);
            env.push((k.clone(), v.clone()));
        }
        env
    }

    /// Starts the program as session leader with the PTY as its controlling
    /// terminal. The error is a sentence for the screen and `berth status`.
    pub fn spawn(&self, pts: &pty_process::Pts) -> Result<tokio::process::Child, String> {
        let program = &self.command[0];
        let cwd = self
            .cwd
            .clone()
            .unwrap_or_else(|| self.identity.home.clone());
        if !cwd.is_dir() {
            return Err(format!(
                "cannot start {program}: working directory {} does not exist or is not a directory",
                cwd.display()
            ));
        }
        let mut cmd = pty_process::Command::new(program)
            .args(&self.command[1..])
            .env_clear()
            .envs(self.environment())
            .current_dir(&cwd);
        cmd.spawn_borrowed(pts).map_err(|e| {
            let why = match &e {
                pty_process::Error::Io(io) => match io.kind() {
                    std::io::ErrorKind::NotFound if !program.contains('/') => {
                        format!("command not found in PATH ({})", defaults::PATH)
                    }
                    std::io::ErrorKind::NotFound => "no such file".to_owned(),
                    std::io::ErrorKind::PermissionDenied => {
                        "permission denied (is it executable?)".to_owned()
                    }
                    _ => io.to_string(),
                },
                other => other.to_string(),
            };
            format!("cannot start {program}: {why}")
        })
    }
}
