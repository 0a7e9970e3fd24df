//! `berth-session NAME`: see the crate docs and `berth-session --help`.

/// Threads the host's blocking work (disk, account lookups) runs on.
const BLOCKING_THREADS: usize = 4;

fn main() -> std::process::ExitCode {
    // Nothing inherited reaches the program; the listening socket stays ours.
    berth_log::inherited::close_on_exec();
    berth_log::inherited::raise_descriptor_limit();
    let args: berth_session::args::Args = berth_log::usage::parse_or_exit("berth-session", 2);
    // Before the runtime or logging open any descriptor: fd 3 may be ours.
    let inherited = match berth_session::listener::inherited(args.listen_fd) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("berth-session: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Our own session: detached from whoever started us (berthd, a shell),
    // so their terminal's signals and their death do not reach us. Fails
    // harmlessly when already a session leader (systemd starts us so).
    let _ = nix::unistd::setsid();
    berth_log::init("berth-session");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        // Disk reads for `logs` and account lookups run here: a few
        // threads, so many clients at once queue rather than each costing
        // a thread (and an allocator arena).
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth-session: failed to start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(berth_session::host::run(args, inherited)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-session: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
