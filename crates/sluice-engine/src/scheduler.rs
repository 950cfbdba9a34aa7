//! Where persistent queries' tasks run.
//!
//! * **Inline**: on the caller's thread, when it calls
//!   [`Scheduler::run_until_idle`]. The test runners use it: a case feeds one
//!   record, runs every query to quiescence, and reads exact outputs.
//! * **Stream threads**: a pool of `ksql.streams.num.stream.threads` threads
//!   (default: the cores), like Kafka Streams' `StreamThread`s: each thread
//!   owns some tasks and polls them in turn, sleeping briefly when all are
//!   caught up. A statement never waits for a query to catch up; a failing
//!   query sits in ERROR until its retry while the others go on. Threads
//!   rather than async tasks, because a task's work is CPU (decoding,
//!   DataFusion expressions) and blocking log calls.
//!
//! Either way a query is a [`Runnable`]: the scheduler decides only when and
//! where its steps run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_log::Log;

use crate::error::{EngineError, Result};
use crate::lifecycle::{is_task_of, Runnable, Step};

/// The longest a stream thread sleeps when all its tasks are caught up.
const MAX_IDLE_WAIT: Duration = Duration::from_millis(20);

pub(crate) enum Scheduler {
    Inline(BTreeMap<String, Runnable>),
    Threads(Pool),
}

impl Scheduler {
    pub(crate) fn inline() -> Self {
        Scheduler::Inline(BTreeMap::new())
    }

    pub(crate) fn threads(n: usize, log: Arc<dyn Log>) -> Self {
        Scheduler::Threads(Pool::new(n.max(1), log))
    }

    pub(crate) fn is_inline(&self) -> bool {
        matches!(self, Scheduler::Inline(_))
    }

    pub(crate) fn add(&mut self, r: Runnable) {
        match self {
            Scheduler::Inline(tasks) => {
                tasks.insert(r.id.clone(), r);
            }
            Scheduler::Threads(pool) => pool.add(r),
        }
    }

    /// Stops every task of query `query_id` and waits until they are dropped.
    pub(crate) fn remove(&mut self, query_id: &str) {
        match self {
            Scheduler::Inline(tasks) => {
                tasks.retain(|key, _| !is_task_of(key, query_id));
            }
            Scheduler::Threads(pool) => pool.remove(query_id),
        }
    }

    /// How many tasks can run at once (the stream threads; 1 inline).
    pub(crate) fn parallelism(&self) -> usize {
        match self {
            Scheduler::Inline(_) => 1,
            Scheduler::Threads(pool) => pool.threads.len(),
        }
    }

    /// Inline: runs every query until none has anything left to read; the
    /// first failure is returned (the failed query waits for its retry, the
    /// others were run to quiescence). Threads: waits until every query has
    /// caught up with what its input held when the call began (queries in
    /// ERROR or PAUSED count as caught up).
    pub(crate) fn run_until_idle(&mut self, log: &dyn Log) -> Result<()> {
        match self {
            Scheduler::Inline(tasks) => {
                let mut first_failure = None;
                loop {
                    let mut consumed = 0;
                    for r in tasks.values_mut() {
                        match r.step(log) {
                            Step::Ran(n) => consumed += n,
                            Step::Failed(e) => {
                                first_failure.get_or_insert(e);
                            }
                        }
                    }
                    if consumed == 0 {
                        break;
                    }
                }
                first_failure.map_or(Ok(()), Err)
            }
            Scheduler::Threads(pool) => pool.wait_until_idle(Duration::from_secs(300)),
        }
    }
}

enum Command {
    Add(Box<Runnable>),
    Remove(String, Sender<()>),
}

/// The stream threads.
pub(crate) struct Pool {
    threads: Vec<(Sender<Command>, JoinHandle<()>)>,
    /// query id → the thread running it
    placement: BTreeMap<String, usize>,
    /// Bumped by each wait; a thread stamps a task with the generation its
    /// last empty poll started in.
    epoch: Arc<AtomicU64>,
    /// Every task's status, for waiting.
    handles: BTreeMap<String, crate::lifecycle::QueryHandle>,
}

impl Pool {
    fn new(n: usize, log: Arc<dyn Log>) -> Self {
        let epoch = Arc::new(AtomicU64::new(0));
        let threads = (0..n)
            .map(|i| {
                let (tx, rx) = mpsc::channel();
                let (log, epoch) = (log.clone(), epoch.clone());
                let handle = std::thread::Builder::new()
                    .name(format!("sluice-stream-{i}"))
                    .spawn(move || stream_thread(rx, log, epoch))
                    .expect("spawning a stream thread");
                (tx, handle)
            })
            .collect();
        Pool {
            threads,
            placement: BTreeMap::new(),
            epoch,
            handles: BTreeMap::new(),
        }
    }

    fn add(&mut self, r: Runnable) {
        // the thread with the fewest tasks
        let mut load = vec![0usize; self.threads.len()];
        for t in self.placement.values() {
            load[*t] += 1;
        }
        let t = (0..load.len()).min_by_key(|i| load[*i]).unwrap_or(0);
        self.placement.insert(r.id.clone(), t);
        self.handles.insert(r.id.clone(), r.handle().clone());
        let _ = self.threads[t].0.send(Command::Add(Box::new(r)));
    }

    fn remove(&mut self, query_id: &str) {
        self.handles.retain(|key, _| !is_task_of(key, query_id));
        let keys: Vec<String> = self
            .placement
            .keys()
            .filter(|key| is_task_of(key, query_id))
            .cloned()
            .collect();
        for key in keys {
            let Some(t) = self.placement.remove(&key) else {
                continue;
            };
            let (ack, done) = mpsc::channel();
            if self.threads[t].0.send(Command::Remove(key, ack)).is_ok() {
                let _ = done.recv();
            }
        }
    }

    /// Waits for a quiet round: every task had a poll that found nothing
    /// to do since the round began, and none did anything during it. (A task
    /// that found nothing may be handed more by another's work in the same
    /// round: a repartition topic, or a query reading another's sink.)
    fn wait_until_idle(&self, timeout: Duration) -> Result<()> {
        let mut target = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        let deadline = Instant::now() + timeout;
        loop {
            let behind: Vec<&String> = self
                .handles
                .iter()
                .filter(|(_, h)| h.lock().idle_epoch < target)
                .map(|(id, _)| id)
                .collect();
            if behind.is_empty() {
                let quiet = self.handles.values().all(|h| h.lock().work_epoch < target);
                if quiet {
                    return Ok(());
                }
                target = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
                continue;
            }
            if Instant::now() > deadline {
                return Err(EngineError::statement(format!(
                    "Queries still catching up after {timeout:?}: {behind:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for (tx, handle) in std::mem::take(&mut self.threads) {
            drop(tx);
            let _ = handle.join();
        }
    }
}

/// One stream thread: polls its tasks in turn; when none had anything to
/// read, waits for a command or a short while (growing up to
/// [`MAX_IDLE_WAIT`]) before polling again. Ends when the pool goes away.
fn stream_thread(commands: Receiver<Command>, log: Arc<dyn Log>, epoch: Arc<AtomicU64>) {
    let mut tasks: Vec<Runnable> = Vec::new();
    let mut idle_wait = Duration::from_millis(1);
    let apply = |tasks: &mut Vec<Runnable>, c: Command| match c {
        Command::Add(r) => tasks.push(*r),
        Command::Remove(id, ack) => {
            tasks.retain(|t| t.id != id);
            let _ = ack.send(());
        }
    };
    loop {
        loop {
            match commands.try_recv() {
                Ok(c) => apply(&mut tasks, c),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        let mut busy = false;
        for t in &mut tasks {
            let generation = epoch.load(Ordering::SeqCst);
            match t.step(log.as_ref()) {
                Step::Ran(0) | Step::Failed(_) => t.mark_idle(generation),
                Step::Ran(_) => {
                    t.mark_worked(epoch.load(Ordering::SeqCst));
                    busy = true;
                }
            }
        }
        if busy {
            idle_wait = Duration::from_millis(1);
            continue;
        }
        match commands.recv_timeout(idle_wait) {
            Ok(c) => apply(&mut tasks, c),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        idle_wait = (idle_wait * 2).min(MAX_IDLE_WAIT);
    }
}
