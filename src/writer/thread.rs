//! The writer thread both queued front-ends run: one named std thread
//! (`clh-writer`) per handler, draining the queue in batches.
//!
//! ```text
//! loop:
//!   gather   what is queued (resting 1 ms after a small batch, then up to
//!            1 ms on an empty queue, then parked until a message comes, or
//!            until lines kept from a failed write are due again)
//!   write    the batch: BatchWriter::process (one lock, one write)
//!   stop?    a Stop or Shutdown was in it: keep writing until every record
//!            accepted before the queue closed is in (the queue's gate),
//!            finish, let compressions end, answer the callers;
//!            Shutdown (or every handle gone) ends the thread
//! ```
//!
//! Why a thread of its own for the async handler too: it keeps the writer
//! independent of the caller's runtime. A runtime that shuts down, or a
//! `current_thread` runtime whose only thread waits for a record to be
//! written (`sync_level`, `Block`), cannot stall it; records queued when the
//! runtime goes away are still written; and waking a thread parked on the
//! queue costs one futex wake, where a task on the runtime had to be
//! scheduled and then start a blocking-pool job. Its only cost is one idle
//! thread, as with tracing-appender's worker.
//!
//! The writer never dies: a panic inside a batch (a bug, since a panicking
//! formatter is caught around each record) is caught, reported, and the
//! loop goes on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{BatchWriter, Ending, MAX_BATCH_RECORDS, Msg};
use crate::error::{Error, ErrorKind, Result};
use crate::queue::{Inbox, Taken};
use crate::rest::Resting;

/// The last outcome of a writer that ended: `None` while it runs.
pub(crate) type Finished = watch::Receiver<Option<Result<()>>>;

/// How long a stop waits, once the queue is empty, for callers that passed
/// the queue's gate but have not pushed yet (an `emit_wait` whose task is not
/// being polled). Records that arrive later are written by the still-running
/// writer, or refused once a shutdown ended it.
const SETTLE_LIMIT: Duration = Duration::from_secs(1);

/// Starts the writer thread on `inbox`; the receiver tells when it ended.
pub(crate) fn spawn(inbox: Inbox, writer: BatchWriter) -> Result<Finished> {
    let (finished_tx, finished) = watch::channel(None);
    std::thread::Builder::new()
        .name("clh-writer".into())
        .spawn(move || {
            let outcome = run(inbox, writer);
            let _ = finished_tx.send(Some(outcome));
        })
        .map_err(Error::spawn)?;
    Ok(finished)
}

fn run(mut inbox: Inbox, mut writer: BatchWriter) -> Result<()> {
    let wake = inbox.wake();
    wake.attach();
    let mut resting = Resting::new(&wake);
    let mut msgs = Vec::with_capacity(MAX_BATCH_RECORDS);
    loop {
        let ended = gather(&mut inbox, &writer, &mut msgs, &mut resting);
        if ended && msgs.is_empty() && writer.retry_due().is_none() {
            break;
        }
        let records = msgs.len();
        process(&inbox, &mut writer, &mut msgs);
        if writer.stop_requested() {
            drain_after_close(&mut inbox, &mut writer, &mut msgs);
            let exit = writer.exit_requested();
            // A stop that finds the handler started again is only a flush:
            // the writer does not wait for compressions while records come.
            let ending = match (exit, inbox.is_closed()) {
                (true, _) => Ending::Shutdown,
                (false, true) => Ending::Stop,
                (false, false) => Ending::Flush,
            };
            let outcome = writer.finish(ending);
            inbox.done(0, writer.has_backlog());
            if exit {
                wake.detach();
                return outcome;
            }
        }
        if ended {
            break;
        }
        if records > 0 {
            resting.after_batch(records);
        }
    }
    wake.detach();
    // Every handle is gone: nothing more can come.
    writer.finish(Ending::Shutdown)
}

/// Fills `msgs` with the next batch. Returns `true` once every caller's side
/// of the queue is gone (what was taken is still to be written).
fn gather(
    inbox: &mut Inbox,
    writer: &BatchWriter,
    msgs: &mut Vec<Msg>,
    resting: &mut Resting<'_>,
) -> bool {
    loop {
        if inbox.take_now(msgs, MAX_BATCH_RECORDS) == Taken::Ended {
            return true;
        }
        let Some(due) = writer.retry_due() else {
            if !msgs.is_empty() {
                return false;
            }
            if resting.while_idle() {
                continue;
            }
            // Quiet for a while: park until a caller pushes.
            return inbox.take_until(msgs, MAX_BATCH_RECORDS, None) == Taken::Ended;
        };
        // A failed write's lines are waiting: the next attempt comes when the
        // backoff says, records meanwhile join it, and a caller waiting for
        // a flush or stop does not wait for the backoff.
        let now = Instant::now();
        if due <= now || msgs.iter().any(Msg::is_control) {
            return false;
        }
        if msgs.len() >= MAX_BATCH_RECORDS {
            std::thread::sleep(due - now);
            return false;
        }
        if inbox.take_until(msgs, MAX_BATCH_RECORDS, Some(due)) == Taken::Ended {
            return true;
        }
    }
}

/// Writes one batch; a panic inside is reported and the writer goes on.
/// The inbox then learns that the writer is done with these messages.
fn process(inbox: &Inbox, writer: &mut BatchWriter, msgs: &mut Vec<Msg>) {
    let taken = msgs.len();
    if catch_unwind(AssertUnwindSafe(|| writer.process(msgs))).is_err() {
        // The batch's waiters were dropped with it: they see `Closed`.
        msgs.clear();
        writer
            .core()
            .errors
            .report(&Error::plain(ErrorKind::WriterPanicked));
    }
    inbox.done(taken, writer.has_backlog());
}

/// After a stop closed the queue: writes what callers that passed the gate
/// before it closed still push, until none is left (or the queue was opened
/// again, or [`SETTLE_LIMIT`] passed without a message).
fn drain_after_close(inbox: &mut Inbox, writer: &mut BatchWriter, msgs: &mut Vec<Msg>) {
    let mut quiet_since = Instant::now();
    while inbox.is_closed() && !inbox.settled() && quiet_since.elapsed() < SETTLE_LIMIT {
        let deadline = Instant::now() + Duration::from_millis(1);
        let taken = inbox.take_until(msgs, MAX_BATCH_RECORDS, Some(deadline));
        if !msgs.is_empty() {
            process(inbox, writer, msgs);
            quiet_since = Instant::now();
        }
        if taken == Taken::Ended {
            break;
        }
    }
}
