//! Descriptors a binary inherited from whoever started it (a shell, a
//! supervisor, a test harness): kept for the binary's own use if it wants
//! them, never passed on to the processes it starts. Without this a
//! session's program could hold berthd's launcher's pipes, or the
//! session's own listening socket and accept connections meant for the host.

use std::os::fd::{BorrowedFd, RawFd};

/// Marks every descriptor from 3 up close-on-exec. Call it first in
/// `main`, before other threads exist.
pub fn close_on_exec() {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    // Marked while the listing is open, so every number is an open
    // descriptor (the listing's own included, which is harmless).
    for fd in entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<RawFd>().ok()) {
        if fd > 2 {
            set_cloexec(fd);
        }
    }
}

/// The one unsafe step: a raw number from /proc/self/fd as a descriptor.
#[allow(unsafe_code)]
fn set_cloexec(fd: RawFd) {
    // SAFETY: `fd` is listed open in /proc/self/fd while the listing is
    // open, and nothing closes descriptors meanwhile (one thread, at
    // start); it is only borrowed for this call.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let _ = nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
}

/// The soft limit on open descriptors now in force.
pub fn descriptor_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _)| soft)
}

/// Raises the soft limit on open descriptors to the hard limit: berthd and
/// hosts hold a socket per connection, and running out of descriptors
/// must not be what decides whether a session looks alive. Returns the
/// limit now in force.
pub fn raise_descriptor_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 0;
    };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return hard;
    }
    soft
}
