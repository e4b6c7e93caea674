//! Counters of a handler (atomics) and their snapshot, [`Stats`].
//!
//! Every counter is a `Relaxed` atomic: each is an independent tally, none
//! publishes data to another thread, so no ordering between them is needed. A
//! snapshot taken while records are in flight may therefore be a little out of
//! step across fields; once the handler is flushed they add up:
//! `emitted == written + dropped + failed`.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a handler's queue and counters, from
/// [`AsyncConcurrentHandler::stats`](crate::AsyncConcurrentHandler::stats).
///
/// Counts are of records (lines) unless a field says otherwise, since the
/// handler was built. Drop reports the handler writes into the log itself are
/// not records: they are counted in `drop_reports` only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Records waiting in the queue now.
    pub queue_depth: u64,
    /// How many records the queue holds at most.
    pub queue_capacity: u64,
    /// Records handed to `emit`, `try_emit` or `emit_wait`.
    pub emitted: u64,
    /// Records accepted into the queue (`sync_level` records included: they
    /// are queued, and the caller waits until they are written). A record
    /// whose caller waits for it on an idle handler (nothing queued, the
    /// log's lock free, no rotation due) is written by that caller at once
    /// and is not queued.
    pub queued: u64,
    /// Records written to the log file (by the writer or a fallback path).
    pub written: u64,
    /// Records discarded without a write attempt: queue full in `Drop` mode, too
    /// many in flight in `Nowait` mode, or handed over after shutdown.
    pub dropped: u64,
    /// Records the fallback mode took care of because the queue was full: the
    /// caller waited for room, then queued them (`Block`, and the thread
    /// handler's `fallback_on_full`; these are counted in `queued` too), or
    /// they were written on the blocking pool, outside the queue (`Nowait`).
    pub fallback: u64,
    /// Records whose write failed and that were given up (an `emit_wait`
    /// caller got the error, or the retry buffer was full or shut down).
    pub failed: u64,
    /// Write attempts (batches or single fallback records) that failed.
    pub write_errors: u64,
    /// Batches the writer wrote (each one lock hold).
    pub batches: u64,
    /// Bytes appended to the log, drop reports included.
    pub bytes_written: u64,
    /// Rotations this handler performed.
    pub rotations: u64,
    /// Rotations that failed; the lines went on into the unrotated file.
    pub rotation_errors: u64,
    /// Warning lines the handler wrote into the log about dropped records.
    pub drop_reports: u64,
    /// Rotated backups compressed (in the background).
    pub compressions: u64,
    /// Compressions or leftover repairs that failed (the plain backup is kept).
    pub compression_errors: u64,
    /// Leftovers of rotations cut short (a writer killed mid-rotation, a
    /// `rename` or `unlink` that failed) that this handler put back into the
    /// backups: `app.log.rotate.<N>` files, each moved to where its rotation
    /// would have put it. Each recovery is also reported, like errors are.
    pub orphans_recovered: u64,
    /// The syslog sink's own counters, when the handler forwards to a
    /// collector.
    pub syslog: Option<SinkStats>,
}

/// A snapshot of a syslog sink's counters, each counting records since the
/// sink started.
///
/// Every record the handler offered the sink is in exactly one of five
/// places, so that at every snapshot
///
/// `accepted == delivered + failed + dropped + buffered + in_flight`
///
/// ([`adds_up`](Self::adds_up)). `sent` and `resent` count transmissions:
/// `sent - resent` is the number of distinct records transmitted.
///
/// ```
/// use concurrent_log_handler::SinkStats;
///
/// let stats = SinkStats::default();
/// assert!(stats.adds_up());
/// assert_eq!((stats.accepted, stats.lost()), (0, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkStats {
    /// Records the handler offered the sink: one per record it forwards,
    /// offered once the local file write was attempted.
    pub accepted: u64,
    /// Records the collector has: acknowledged by RELP (`rsp 200`); over
    /// TCP and TLS, their bytes acknowledged by the collector's kernel (on
    /// Linux; elsewhere written to the socket); datagrams sent.
    pub delivered: u64,
    /// Records refused for good by the collector or the transport: a RELP
    /// status other than 200, a datagram the socket refuses as too large, or
    /// a record given up after eight connections broke while it was on them.
    pub failed: u64,
    /// Records the sink gave up: its buffer was full (see
    /// `WhenFull`), or it was closed (shutdown, the exit
    /// hook, a dropped handler) before it could deliver them. The local
    /// file has them.
    pub dropped: u64,
    /// Records waiting to be sent now: in the buffer, or back from a
    /// connection that broke.
    pub buffered: u64,
    /// Records sent whose outcome is not known yet (awaiting a RELP `rsp`
    /// or the collector's kernel's acknowledgement).
    pub in_flight: u64,
    /// Transmissions: frames whose bytes reached the kernel (TCP, TLS,
    /// RELP) or datagrams sent. A record sent again after a reconnect
    /// counts again (see `resent`).
    pub sent: u64,
    /// Transmissions that repeated an earlier one after a connection broke:
    /// RELP frames never acknowledged, TCP/TLS records whose bytes the
    /// collector's kernel never acknowledged. Each may be a duplicate.
    pub resent: u64,
    /// Messages cut to the sink's `max_message_size` (or to what one
    /// datagram carries).
    pub truncated: u64,
    /// Connections established after the first one (recoveries).
    pub reconnects: u64,
    /// Connection attempts that failed (connect, TLS handshake, RELP `open`).
    pub connect_errors: u64,
}

impl SinkStats {
    /// Records the collector never got: [`dropped`](Self::dropped) plus
    /// [`failed`](Self::failed).
    pub fn lost(&self) -> u64 {
        self.dropped + self.failed
    }

    /// Whether every accepted record is in exactly one place:
    /// `accepted == delivered + failed + dropped + buffered + in_flight`.
    /// True of every snapshot.
    pub fn adds_up(&self) -> bool {
        self.accepted
            == self.delivered + self.failed + self.dropped + self.buffered + self.in_flight
    }
}

impl Stats {
    /// Records accepted but not written to the file: [`dropped`](Self::dropped)
    /// plus [`failed`](Self::failed). What the syslog collector never got
    /// is the sink's own: `syslog.map(|s| s.lost())`.
    ///
    /// ```
    /// use concurrent_log_handler::Stats;
    /// assert_eq!(Stats::default().lost(), 0);
    /// ```
    pub fn lost(&self) -> u64 {
        self.dropped + self.failed
    }
}

/// One line for a person or a health endpoint:
/// `written 998 of 1000 (lost 2: dropped 2, failed 0), queue 3/10000, 41 batches, 2 rotations, 0 write errors`,
/// then, when the handler forwards, the syslog sink's with what the
/// collector lost:
/// `; syslog: delivered 990 of 1000 (lost 10: dropped 10, failed 0), 0 buffered, 0 in flight, …`.
///
/// ```
/// use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};
///
/// let dir = tempfile::tempdir()?;
/// let (handler, guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log")).build()?;
/// handler.emit(Record::new(Level::Info, "one"));
/// drop(guard);
/// let line = handler.stats().to_string();
/// assert!(line.starts_with("written 1 of 1 (lost 0: dropped 0, failed 0), queue 0/10000"), "{line}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "written {} of {} (lost {}: dropped {}, failed {}), queue {}/{}, {} batches, \
             {} rotations, {} write errors",
            self.written,
            self.emitted,
            self.lost(),
            self.dropped,
            self.failed,
            self.queue_depth,
            self.queue_capacity,
            self.batches,
            self.rotations,
            self.write_errors,
        )?;
        if self.rotation_errors > 0 || self.compression_errors > 0 {
            write!(
                f,
                ", {} rotation errors, {} compression errors",
                self.rotation_errors, self.compression_errors
            )?;
        }
        if let Some(syslog) = &self.syslog {
            write!(
                f,
                "; syslog: delivered {} of {} (lost {}: dropped {}, failed {}), {} buffered, \
                 {} in flight, {} sent, {} resent, {} truncated, {} reconnects",
                syslog.delivered,
                syslog.accepted,
                syslog.lost(),
                syslog.dropped,
                syslog.failed,
                syslog.buffered,
                syslog.in_flight,
                syslog.sent,
                syslog.resent,
                syslog.truncated,
                syslog.reconnects,
            )?;
        }
        Ok(())
    }
}

/// The live counters behind [`Stats`].
///
/// Each counter has a cache line of its own: the callers bump `queued` once
/// per record while the writer bumps `written` and `bytes_written` once per
/// batch, and sharing a line would make every one of those updates contend.
///
/// The queued front-ends do not bump `emitted`: every record they accept ends
/// up counted exactly once as `queued`, `outside` (a `Nowait` write) or
/// `dropped`, and [`snapshot`](Self::snapshot) adds those up, which saves the
/// callers one shared update per record. `emitted` itself counts the records
/// of the synchronous handler, which has no queue, records that could not
/// be formatted, and records a waiting caller wrote itself.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) emitted: Counter,
    pub(crate) queued: Counter,
    pub(crate) written: Counter,
    pub(crate) dropped: Counter,
    /// Records whose caller waited for room in a full queue (`Block`).
    pub(crate) waited: Counter,
    /// Records written outside the queue (`Nowait`).
    pub(crate) outside: Counter,
    pub(crate) failed: Counter,
    pub(crate) write_errors: Counter,
    pub(crate) batches: Counter,
    pub(crate) bytes_written: Counter,
    pub(crate) rotations: Counter,
    pub(crate) rotation_errors: Counter,
    pub(crate) drop_reports: Counter,
    pub(crate) compressions: Counter,
    pub(crate) compression_errors: Counter,
    pub(crate) orphans_recovered: Counter,
}

/// One counter on a cache line (two, for CPUs that fetch lines in pairs) of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Counter(AtomicU64);

impl std::ops::Deref for Counter {
    type Target = AtomicU64;

    fn deref(&self) -> &AtomicU64 {
        &self.0
    }
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    /// The counters, with the queue's depth and capacity filled in by the front-end.
    pub(crate) fn snapshot(&self, queue_depth: u64, queue_capacity: u64) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            queue_depth,
            queue_capacity,
            emitted: get(&self.emitted)
                + get(&self.queued)
                + get(&self.outside)
                + get(&self.dropped),
            queued: get(&self.queued),
            written: get(&self.written),
            dropped: get(&self.dropped),
            fallback: get(&self.waited) + get(&self.outside),
            failed: get(&self.failed),
            write_errors: get(&self.write_errors),
            batches: get(&self.batches),
            bytes_written: get(&self.bytes_written),
            rotations: get(&self.rotations),
            rotation_errors: get(&self.rotation_errors),
            drop_reports: get(&self.drop_reports),
            compressions: get(&self.compressions),
            compression_errors: get(&self.compression_errors),
            orphans_recovered: get(&self.orphans_recovered),
            syslog: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_line_says_what_the_collector_lost_beside_the_file() {
        let stats = Stats {
            emitted: 1000,
            written: 1000,
            syslog: Some(SinkStats {
                accepted: 1000,
                delivered: 950,
                dropped: 40,
                failed: 2,
                buffered: 8,
                ..SinkStats::default()
            }),
            ..Stats::default()
        };
        let line = stats.to_string();
        assert!(
            line.starts_with("written 1000 of 1000 (lost 0: dropped 0, failed 0)"),
            "{line}"
        );
        assert!(
            line.contains(
                "; syslog: delivered 950 of 1000 (lost 42: dropped 40, failed 2), 8 buffered"
            ),
            "{line}"
        );
    }
}
