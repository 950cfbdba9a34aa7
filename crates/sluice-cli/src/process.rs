//! Settings of the `sluice` process itself, applied first thing in `main`
//! (and by the benchmarks that run the engine in their own process, so that
//! they measure what the binary does).

/// Turns transparent huge pages off for this process (and the processes it
/// starts, which inherit the setting).
///
/// Where the kernel's THP mode is `always` (Debian's default), a touch of
/// memory the allocator has given back to the OS (mimalloc returns freed
/// pages in 64 KiB pieces after 10 ms) faults in and zeroes a whole 2 MiB
/// page. Threads that hand batches to each other (a connector's reader and
/// writer, a query's tasks) free and reuse memory at that pace: the JDBC
/// source bench spent a third of its CPU zeroing pages (`clear_page_erms`),
/// and read 0.64–0.81 of its baseline with THP against 0.78–0.99 with
/// mimalloc's own switch for this same setting (`MIMALLOC_ALLOW_THP=0`;
/// `docs/performance.md`). Databases that allocate the same way ask for the
/// same (Redis, MongoDB). A no-op where the kernel has no such switch.
pub fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        let zero: libc::c_ulong = 0;
        // SAFETY: PR_SET_THP_DISABLE takes integer arguments (the unused
        // ones zero, as unsigned longs) and only sets a flag of this
        // process's memory map.
        // a kernel without the switch refuses it (EINVAL): THP then stays
        // as it was, which is all this could change (it runs before any
        // logging is set up)
        let _ = unsafe {
            libc::prctl(
                libc::PR_SET_THP_DISABLE,
                1 as libc::c_ulong,
                zero,
                zero,
                zero,
            )
        };
    }
}
