//! The async handler's writer side: an async task that waits for records
//! without holding a thread, and the blocking-pool job it starts to write them.
//!
//! ```text
//! emit ──try_send──▶ mpsc ──▶ drain task (async, idle: no thread held)
//!                               │ records arrived
//!                               ▼
//!                      spawn_blocking job: batch → BatchWriter → locked file
//!                      while records keep coming (rests between small batches),
//!                      then hands the queue back to the drain task
//! ```
//!
//! Why the job keeps going: a hop back through the async task after each batch
//! waits for a runtime worker, which producing tasks may keep busy for long, so
//! the queue filled meanwhile. Why it rests after a small batch instead of
//! taking the next record at once: on a machine with few cores the producers
//! share the writer's; a pause of tens of microseconds lets a larger batch
//! gather, so one lock cycle (flock, stat, write) serves more records and the
//! callers rarely pay for waking the writer. Callers that wait for the write
//! (`emit_wait`, `flush`, `shutdown`) [`nudge`](WriterWake::nudge) a resting
//! writer (see [`crate::rest`]), so the pause never delays them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::sync::mpsc;

use crate::rest::{Resting, WriterWake};
use crate::writer::{BatchWriter, MAX_BATCH_RECORDS, Msg};

/// How long one blocking-pool job keeps writing while records keep coming
/// before it hands the queue back to the async drain, so a runtime that shuts
/// down waits at most about this long for it.
const JOB_BUDGET: Duration = Duration::from_millis(50);

/// The async drain: waits for records without holding a thread, then writes
/// them on the blocking pool, one job at a time. Ends when the queue is closed
/// (shutdown, or every handle dropped) and empty.
pub(crate) async fn drain(
    mut rx: mpsc::Receiver<Msg>,
    mut writer: BatchWriter,
    wake: Arc<WriterWake>,
) {
    let mut msgs = Vec::with_capacity(MAX_BATCH_RECORDS);
    loop {
        if rx.recv_many(&mut msgs, MAX_BATCH_RECORDS).await == 0 {
            break;
        }
        let wake = Arc::clone(&wake);
        let job = tokio::task::spawn_blocking(move || {
            wake.attach();
            write_while_busy(&mut writer, &mut rx, &mut msgs, &wake);
            wake.detach();
            (writer, rx, msgs)
        });
        match job.await {
            Ok(back) => (writer, rx, msgs) = back,
            // Only when the runtime shuts down under us: nothing left to do.
            Err(_) => return,
        }
    }
    let _ = tokio::task::spawn_blocking(move || writer.finish()).await;
}

/// One blocking-pool job: writes `msgs` as a batch, then what is queued
/// meanwhile (up to [`MAX_BATCH_RECORDS`] per batch), resting after small
/// batches, until the queue stayed empty for [`LINGER`], was closed, or
/// [`JOB_BUDGET`] is spent.
fn write_while_busy(
    writer: &mut BatchWriter,
    rx: &mut mpsc::Receiver<Msg>,
    msgs: &mut Vec<Msg>,
    wake: &WriterWake,
) {
    let started = Instant::now();
    let mut resting = Resting::new(wake);
    loop {
        if !msgs.is_empty() {
            if msgs.iter().any(|m| matches!(m, Msg::Shutdown(_))) {
                // Refuse new messages, but keep draining those already queued.
                rx.close();
            }
            let batch = msgs.len();
            writer.process(msgs);
            if started.elapsed() >= JOB_BUDGET {
                return;
            }
            resting.after_batch(batch);
        } else if !resting.while_idle() {
            return;
        }
        // What is queued now, without waiting: one poll of `recv_many`, which
        // frees the queue's slots in one step (`try_recv` takes the queue's
        // semaphore lock once per record). `None` means empty; `Some(0)`
        // means closed and empty, and the async side then finishes.
        if rx.recv_many(msgs, MAX_BATCH_RECORDS).now_or_never() == Some(0) {
            return;
        }
    }
}
