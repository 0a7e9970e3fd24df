//! Becoming an unprivileged account, first thing, when started as root:
//! a session host becomes its service account, berth-web becomes
//! `_berth-web`. One procedure for both, so both drops are equally final.

use anyhow::{bail, Context};
use nix::unistd::{Gid, Uid, User};

/// Switches this process (`program`, for messages) to `name`:
/// supplementary groups, group, then user, and checks that root cannot be
/// regained. Callers run it before they read anything untrusted (program
/// output, network requests).
pub fn become_user(program: &str, name: &str) -> anyhow::Result<()> {
    let user = User::from_name(name)
        .with_context(|| format!("failed to look up user {name}"))?
        .with_context(|| format!("user {name:?} does not exist"))?;
    let euid = nix::unistd::geteuid();
    if euid == user.uid {
        return Ok(());
    }
    if !euid.is_root() {
        bail!("cannot run as {name}: {program} runs as uid {euid}, not root");
    }
    if user.uid.is_root() {
        return Ok(()); // allow_root was checked by whoever asked for it
    }
    let cname = std::ffi::CString::new(name.as_bytes())?;
    nix::unistd::initgroups(&cname, user.gid)
        .with_context(|| format!("failed to set the groups of {name}"))?;
    nix::unistd::setgid(user.gid).with_context(|| format!("failed to set gid {}", user.gid))?;
    nix::unistd::setuid(user.uid).with_context(|| format!("failed to set uid {}", user.uid))?;
    // Prove the drop is permanent.
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok()
        || nix::unistd::setgid(Gid::from_raw(0)).is_ok()
    {
        bail!("dropped to {name} but could regain root; refusing to go on");
    }
    if nix::unistd::geteuid() != user.uid || nix::unistd::getegid() != user.gid {
        bail!("failed to become {name}");
    }
    Ok(())
}
