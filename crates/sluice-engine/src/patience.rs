//! Riding out a broker that fails for a while (timeouts, no leader): how
//! long a statement waits, trying again, before it fails.

use crate::error::Result;

/// How long a statement rides out a broker that times out or has no leader
/// for a while (a server starting on a loaded cluster, the command log
/// replayed) before it fails.
pub(crate) const BROKER_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `attempt` until it succeeds or fails in a way the log's clients do
/// not ride out, or [`BROKER_PATIENCE`] has passed, waiting longer each time
/// (200 ms doubling up to 5 s); `what` names it in the warnings.
pub(crate) fn riding_out_the_broker<T>(
    what: &str,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    let deadline = std::time::Instant::now() + BROKER_PATIENCE;
    let mut wait = std::time::Duration::from_millis(200);
    loop {
        match attempt() {
            Err(e) if e.is_transient() && std::time::Instant::now() < deadline => {
                tracing::warn!("{what} failed ({e}); trying again in {wait:?}");
                std::thread::sleep(wait);
                wait = (wait * 2).min(std::time::Duration::from_secs(5));
            }
            other => return other,
        }
    }
}
