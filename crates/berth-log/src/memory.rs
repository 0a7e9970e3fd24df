//! This process's memory: how much it holds (for `/metrics`), and giving
//! freed memory back to the system. glibc keeps freed heap pages in
//! its arenas: after a burst of connections (an attack, or a crowd during
//! an incident) a host would keep their high-water mark for its whole
//! life, and berthd the high-water mark of its largest reload.

/// Returns free heap pages to the system (a host calls it when its last
/// connection closed, berthd after each reload: at most once per burst).
#[allow(unsafe_code)]
pub fn release() {
    // SAFETY: malloc_trim only walks the allocator's own free lists, under
    // the allocator's own locks; it takes and returns no pointers.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

/// Chunk sizes glibc's per-thread cache (tcache) keeps: 64 bins of 16
/// bytes from 32 (a request of `24 + 16 * i` bytes lands in bin `i`),
/// at most 7 chunks each.
const TCACHE_BINS: usize = 64;
const TCACHE_COUNT: usize = 7;

/// Empties this thread's malloc cache, then [`release`]s. glibc keeps up
/// to 7 freed chunks of each small size per thread, outside the heap's
/// free lists, so `malloc_trim` cannot give back the pages they sit in:
/// after a reload of hundreds of sessions, berthd's loop thread held
/// 1.7 MB that way. Taking every cached chunk back out (a cached chunk is
/// what malloc hands out first) and freeing them on a thread that then
/// ends returns them to the heap (a thread's cache is emptied into it
/// when the thread ends), where they join their free neighbours.
#[allow(unsafe_code)]
pub fn flush_thread_cache() {
    let mut taken: Vec<usize> = Vec::with_capacity(TCACHE_BINS * TCACHE_COUNT);
    for bin in 0..TCACHE_BINS {
        for _ in 0..TCACHE_COUNT {
            // SAFETY: a plain allocation; its pointer is freed exactly once
            // below (or never used when null).
            let p = unsafe { nix::libc::malloc(24 + 16 * bin) };
            if !p.is_null() {
                taken.push(p as usize);
            }
        }
    }
    let freed = std::thread::spawn(move || {
        for p in taken {
            // SAFETY: each pointer came from malloc above and is freed
            // once, here; nothing else ever saw it.
            unsafe { nix::libc::free(p as *mut nix::libc::c_void) };
        }
    });
    let _ = freed.join();
    release();
}

/// Keeps glibc to at most `arenas` heaps for all threads. By default it
/// gives each thread that allocates an arena of its own (up to 8 per
/// core), and what one holds free is stranded there: berthd's blocking
/// threads come and go with each reload. Its allocations are few and
/// short, so sharing costs it nothing measurable.
#[allow(unsafe_code)]
pub fn limit_arenas(arenas: i32) {
    // SAFETY: mallopt only sets one of the allocator's parameters, under
    // its own lock; called before any other thread exists.
    unsafe {
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, arenas);
    }
}

/// Resident memory of this process, from /proc/self/statm (pages).
pub fn resident() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok()??;
    Some(pages * page as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn resident_memory_is_read() {
        let rss = super::resident().expect("/proc/self/statm");
        // A running test binary holds at least its own code.
        assert!(rss > 1 << 20, "{rss}");
    }
}
