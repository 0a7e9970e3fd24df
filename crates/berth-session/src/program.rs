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
                shell: login_shell(u.shell),
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
                    shell: login_shell(env("SHELL").map_or_else(PathBuf::new, PathBuf::from)),
                }
            }
        }
    }
}

/// The account's shell, or `/bin/sh` when it has none a person could use
/// (service accounts get `nologin` or `false`).
fn login_shell(shell: PathBuf) -> PathBuf {
    let name = shell.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if shell.as_os_str().is_empty() || name == "nologin" || name == "false" {
        PathBuf::from(FALLBACK_SHELL)
    } else {
        shell
    }
}

const FALLBACK_SHELL: &str = "/bin/sh";

/// What to run.
#[derive(Debug, Clone)]
pub struct Launch {
    pub command: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// Added to the base environment, overriding it.
    pub env: Vec<(String, String)>,
    pub identity: Identity,
    /// PR_SET_NO_NEW_PRIVS for the program (`--no-new-privileges`).
    pub no_new_privileges: bool,
    /// bash, zsh and fish start with OSC 133 marks (`--shell-integration`).
    pub shell_integration: Option<std::sync::Arc<crate::shell_integration::ShellIntegration>>,
}

impl Launch {
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

    /// The configured `cwd`, which must exist; else the account's home when
    /// it exists, else `/`, as systemd does for system services (Debian's
    /// service accounts have no home, or `/nonexistent`).
    pub fn working_dir(&self) -> Result<PathBuf, String> {
        match &self.cwd {
            Some(cwd) if cwd.is_dir() => Ok(cwd.clone()),
            Some(cwd) => Err(format!(
                "working directory {} (cwd) does not exist or is not a directory",
                cwd.display()
            )),
            None if self.identity.home.is_dir() => Ok(self.identity.home.clone()),
            None => Ok(PathBuf::from("/")),
        }
    }

    /// Starts the program as session leader with the PTY as its controlling
    /// terminal. The error is a sentence for the screen and `berth status`.
    pub fn spawn(&self, pts: &pty_process::Pts) -> Result<tokio::process::Child, String> {
        let program = &self.command[0];
        let cwd = self
            .working_dir()
            .map_err(|why| format!("cannot start {program}: {why}"))?;
        let mut env = self.environment();
        let wrapped = self
            .shell_integration
            .as_ref()
            .and_then(|si| si.wrap(&self.command, &env));
        let command = match wrapped {
            Some((command, extra)) => {
                env.extend(extra);
                command
            }
            None => self.command.clone(),
        };
        let cmd = pty_process::Command::new(program)
            .args(&command[1..])
            .env_clear()
            .envs(env)
            .current_dir(&cwd);
        let mut cmd = prepare_child(cmd, self.no_new_privileges);
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

/// The program is killed when its host dies, however the host dies (a
/// SIGKILL included): a program that ignores the terminal's hangup must
/// not live on untracked beside the next host's program.
///
/// The kernel sends the signal when the *thread* that forked exits; the
/// host runs on one thread (a current-thread runtime), which lives as long
/// as the process.
/// With `no_new_privileges`, the program can never gain privileges.
#[allow(unsafe_code)]
fn prepare_child(cmd: pty_process::Command, no_new_privileges: bool) -> pty_process::Command {
    let host = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec and makes only
    // async-signal-safe system calls (prctl, getrlimit, setrlimit,
    // getppid); it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
            program_descriptor_limit();
            if no_new_privileges {
                nix::sys::prctl::set_no_new_privs()?;
            }
            // The host may have died between fork and prctl: then do not
            // start at all (the child ends with this error).
            if nix::unistd::getppid() != host {
                return Err(nix::errno::Errno::ESRCH.into());
            }
            Ok(())
        })
    }
}

/// The host raised its own descriptor limit (it serves many connections);
/// the program starts with the conventional soft limit, as a systemd
/// service does (some programs still use select(), which breaks past
/// 1024). The hard limit stays: a program may raise it again.
fn program_descriptor_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    const SOFT: u64 = 1024;
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft > SOFT {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, SOFT.min(hard), hard);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(home: &str, cwd: Option<&str>) -> Launch {
        Launch {
            command: vec!["bash".into()],
            cwd: cwd.map(PathBuf::from),
            env: vec![],
            identity: Identity {
                user: "svc".into(),
                uid: 999,
                home: home.into(),
                shell: "/bin/sh".into(),
            },
            no_new_privileges: true,
            shell_integration: None,
        }
    }

    #[test]
    fn working_dir_falls_back_to_root_only_by_default() {
        let tmp = std::env::temp_dir();
        assert_eq!(
            spec(tmp.to_str().unwrap(), None).working_dir(),
            Ok(tmp.clone())
        );
        assert_eq!(
            spec("/nonexistent", None).working_dir(),
            Ok(PathBuf::from("/"))
        );
        assert_eq!(
            spec("/nonexistent", Some("/no/such/dir")).working_dir(),
            Err("working directory /no/such/dir (cwd) does not exist or is not a directory".into())
        );
    }

    #[test]
    fn service_shells_become_sh() {
        assert_eq!(
            login_shell("/usr/sbin/nologin".into()),
            PathBuf::from("/bin/sh")
        );
        assert_eq!(login_shell("/bin/false".into()), PathBuf::from("/bin/sh"));
        assert_eq!(login_shell("".into()), PathBuf::from("/bin/sh"));
        assert_eq!(login_shell("/bin/zsh".into()), PathBuf::from("/bin/zsh"));
    }
}
