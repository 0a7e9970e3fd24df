//! Giving freed memory back to the system. glibc keeps freed heap pages in
//! its arenas: after a burst of connections (an attack, or a crowd during
//! an incident) a host would keep their high-water mark for its whole life.

/// Returns free heap pages to the system (called when the last connection
/// closed, so at most once per burst).
#[allow(unsafe_code)]
pub fn release() {
    // SAFETY: malloc_trim only walks the allocator's own free lists, under
    // the allocator's own locks; it takes and returns no pointers.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}
