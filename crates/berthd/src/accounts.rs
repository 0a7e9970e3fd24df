//! Service accounts and socket groups in system mode: every session runs
//! under a non-human identity of its own.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use berth_config::model::Session;
use nix::unistd::{Group, User};

/// Home directories of accounts berthd creates live under this.
pub const HOME_BASE: &str = "/var/lib/berth";
/// Longest account name useradd accepts.
const NAME_MAX: usize = 32;

/// The account a session runs as: `user`, or `berth-NAME`.
pub fn account_name(s: &Session) -> String {
    berth_config::accounts::service_account(&s.name, s.user.as_deref())
}

/// Looks the account up, creating it as a system account when the config
/// allows it (`create_user`, or the default `berth-NAME`).
pub fn ensure_account(s: &Session) -> anyhow::Result<User> {
    let name = account_name(s);
    if let Some(u) = User::from_name(&name)? {
        return Ok(u);
    }
    if s.user.is_some() && !s.create_user {
        bail!("{}", berth_config::accounts::missing_user(&name));
    }
    if name.len() > NAME_MAX {
        bail!("the default account {name:?} is longer than {NAME_MAX} characters: set user = \"...\" for session {}", s.name);
    }
    let home = Path::new(HOME_BASE).join(&s.name);
    std::fs::create_dir_all(HOME_BASE).with_context(|| format!("failed to create {HOME_BASE}"))?;
    let out = Command::new("useradd")
        .args(["--system", "--shell", "/usr/sbin/nologin", "--home-dir"])
        .arg(&home)
        .args(["--no-create-home", "--user-group", &name])
        .output()
        .context("failed to run useradd")?;
    if !out.status.success() {
        bail!(
            "useradd {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let user =
        User::from_name(&name)?.with_context(|| format!("useradd created no user {name}"))?;
    std::fs::create_dir_all(&home)?;
    nix::unistd::chown(&home, Some(user.uid), Some(user.gid))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o750))?;
    tracing::info!(session = %s.name, user = %name, uid = user.uid.as_raw(), "created service account");
    Ok(user)
}

/// Undoes [`ensure_account`] for a session that failed to start: the
/// account (if it exists now) and the home berthd made for it.
pub fn remove_created(s: &Session) {
    let name = account_name(s);
    if User::from_name(&name).ok().flatten().is_none() {
        return;
    }
    match Command::new("userdel").arg(&name).output() {
        Ok(out) if out.status.success() => {
            tracing::info!(session = %s.name, user = %name, "removed the service account created for a failed start");
        }
        Ok(out) => {
            tracing::warn!(session = %s.name, user = %name, "userdel failed: {}", String::from_utf8_lossy(&out.stderr).trim())
        }
        Err(e) => tracing::warn!(session = %s.name, user = %name, "userdel failed: {e}"),
    }
    let _ = std::fs::remove_dir(Path::new(HOME_BASE).join(&s.name));
}

/// Where what earlier sessions left is kept, under the log and home
/// bases: root's alone. (No session name starts with '.'.)
const RETIRED: &str = ".retired";

/// Before `berth new NAME` in system mode: what an earlier session of that
/// name left, its output log directory and (for the default account
/// `berth-NAME`, which the new session gets again) its home, is moved
/// where only root reads it. The new session, and whoever operates it,
/// starts with none of it: `berth logs` shows only its own output. Blocks.
pub fn retire_leftovers(s: &Session, log: &Path) -> anyhow::Result<()> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(dir) = log.parent() {
        retire(&s.name, dir, stamp)?;
    }
    if s.user.is_none() {
        let home = Path::new(HOME_BASE).join(&s.name);
        if retire(&s.name, &home, stamp)? {
            if let Some(user) = User::from_name(&account_name(s))? {
                // The account keeps its home directory: an empty one.
                std::fs::create_dir(&home)?;
                nix::unistd::chown(&home, Some(user.uid), Some(user.gid))?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o750))?;
            }
        }
    }
    Ok(())
}

/// Moves `dir` to `<its parent>/.retired/<its name>.<stamp>` when it holds
/// anything; whether it did.
fn retire(session: &str, dir: &Path, stamp: u64) -> anyhow::Result<bool> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => {}
        Ok(false) => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("failed to read {}", dir.display())),
    }
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Ok(false);
    };
    let base = parent.join(RETIRED);
    match std::fs::DirBuilder::new().mode(0o700).create(&base) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("failed to create {}", base.display())),
    }
    // Made by root, or refused: someone else's directory here is no place
    // to keep another session's output.
    let meta = std::fs::symlink_metadata(&base)?;
    if !meta.is_dir() || std::os::unix::fs::MetadataExt::uid(&meta) != 0 {
        bail!("{} is not a directory of root's; remove it", base.display());
    }
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700))?;
    let mut to = base.join(name);
    to.as_mut_os_string().push(format!(".{stamp}"));
    std::fs::rename(dir, &to)
        .with_context(|| format!("failed to move {} to {}", dir.display(), to.display()))?;
    tracing::info!(session = %session, from = %dir.display(), to = %to.display(), "kept what an earlier session of this name left, out of the new session's reach");
    Ok(true)
}

/// The socket's group; the default `berth` group is created if missing.
pub fn access_group(s: &Session) -> anyhow::Result<Group> {
    let name = &s.access.group;
    if let Some(g) = Group::from_name(name)? {
        return Ok(g);
    }
    if name != berth_config::defaults::ACCESS_GROUP {
        bail!(
            "group {name:?} (access.group of session {}) does not exist: create it",
            s.name
        );
    }
    let out = Command::new("groupadd")
        .args(["--system", name])
        .output()
        .context("failed to run groupadd")?;
    if !out.status.success() {
        bail!(
            "groupadd {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Group::from_name(name)?.with_context(|| format!("groupadd created no group {name}"))
}

/// In system mode: the session's account (created if allowed) and socket
/// group, and its log directory owned by the account; returns their uid
/// and gid. `systemd_allocates`: a dynamic account that systemd makes, with
/// its log directory, when the unit starts (0 stands for it here). Blocks
/// on useradd and groupadd: call it off the daemon's loop.
pub fn prepare(
    s: &Session,
    mode: berth_config::paths::Mode,
    log_dir: &Path,
    systemd_allocates: bool,
) -> anyhow::Result<Option<(u32, u32)>> {
    if mode != berth_config::paths::Mode::System {
        return Ok(None);
    }
    // Hosts are prepared 16 at a time: one useradd or groupadd at a time,
    // so two first sessions do not both create the `berth` group (the
    // second failing) while the account files are rewritten.
    static ACCOUNT_FILES: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let one = ACCOUNT_FILES.lock().unwrap_or_else(|e| e.into_inner());
    if s.dynamic_user && systemd_allocates {
        let group = access_group(s)?;
        return Ok(Some((0, group.gid.as_raw())));
    }
    let user = ensure_account(s)?;
    let group = access_group(s)?;
    drop(one);
    if s.log == berth_config::model::LogTarget::File {
        let log = berth_config::paths::session_log(log_dir, &s.name, mode);
        let dir = log.parent().expect("log path has a directory");
        std::fs::create_dir_all(dir)?;
        nix::unistd::chown(dir, Some(user.uid), Some(user.gid))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750))?;
    }
    Ok(Some((user.uid.as_raw(), group.gid.as_raw())))
}

/// Whether the session's account exists now (before a first start that
/// may create it).
pub fn account_exists(s: &Session) -> bool {
    User::from_name(&account_name(s)).ok().flatten().is_some()
}
