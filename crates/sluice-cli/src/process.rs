//! Settings of the `sluice` process itself, applied first thing in `main`
//! (and by the benchmarks that run the engine in their own process, so that
//! they measure what the binary does).

/// Turns transparent huge pages off for this process.
///
/// Where the kernel's THP mode is `always` (Debian's default), a touch of
/// memory the allocator has given back to the OS (mimalloc returns freed
/// pages in 64 KiB pieces after 10 ms) faults in and zeroes a whole 2 MiB
/// page. Threads that hand batches to each other (a connector's reader and
/// writer, a query's tasks) free and reuse memory at that pace: the JDBC
/// source bench spent a third of its CPU zeroing pages (`clear_page_erms`)
/// and ran at 0.64–0.81 of its baseline with THP, 0.78–0.99 without
/// (`docs/performance.md`). Databases that allocate the same way ask for the
/// same (Redis, MongoDB). A no-op where the kernel has no such switch.
pub fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag
    // of this process's memory map.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
