//! The C library calls UCP needs that have no safe wrapper, each behind a safe function: the only
//! unsafe code in the workspace (every other crate forbids it).

/// Asks the C allocator to give the memory it holds free back to the OS; true when some was.
///
/// glibc keeps what the process freed in its arenas (a thread's arena is only trimmed from its
/// top), so after a bulk job (embedding a catalog, parsing large listings) the freed pages stay
/// resident. `malloc_trim(0)` releases every free page of every arena. It locks each arena in
/// turn: call it after bulk work, off the request path, not per request. Does nothing (false)
/// where the C library is not glibc.
pub fn release_free_memory() -> bool {
    trim()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() -> bool {
    // SAFETY: malloc_trim takes no pointer and only rearranges glibc's own free lists, under the
    // arenas' locks; any thread may call it at any time.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn freed_memory_can_be_released() {
        // Many mid-sized blocks (below the mmap threshold, so on the heap), every other one
        // freed: holes below live blocks that only a trim gives back.
        let mut blocks: Vec<Vec<u8>> = (0..1024).map(|i| vec![i as u8; 64 << 10]).collect();
        for i in (0..blocks.len()).step_by(2) {
            blocks[i] = Vec::new();
        }
        let released = super::release_free_memory();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(released, "32 MiB of holes were free");
        }
        drop(blocks);
    }
}
