//! The sink's counters, kept so that every snapshot adds up:
//!
//! `accepted == delivered + failed + dropped + buffered + in_flight`
//!
//! Each record moves from one term to another in one step under one mutex
//! (the intake counts it in, the ledger moves it on), so no snapshot ever
//! sees a record in two places or in none. The mutex is taken once per
//! batch, never per byte; it is cheap beside the system calls around it.

use std::sync::Mutex;

use crate::stats::SinkStats;
use crate::sync::lock_unpoisoned;

/// Where a record can be; see [`Tally::moved`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// Waiting to be sent: in the intake, or in the ledger not yet written
    /// (or written on a connection that broke, and waiting to go again).
    Buffered,
    /// Written to a connection, its outcome not known yet.
    InFlight,
    /// Retired: the collector has it (RELP: acknowledged; TCP: its bytes
    /// acknowledged by the collector's kernel; datagrams: sent).
    Delivered,
    /// Retired: refused for good by the collector or the transport.
    Failed,
    /// Retired: given up by the sink (its buffer was full, or it was closed
    /// before it could deliver).
    Dropped,
}

/// The counters behind [`SinkStats`].
#[derive(Debug, Default)]
pub(crate) struct Tally(Mutex<SinkStats>);

impl Tally {
    /// A consistent snapshot.
    pub(crate) fn snapshot(&self) -> SinkStats {
        *lock_unpoisoned(&self.0)
    }

    /// Records entering the sink, as `to` (buffered, or dropped at once).
    pub(super) fn accepted(&self, n: u64, to: Place) {
        let mut stats = lock_unpoisoned(&self.0);
        stats.accepted += n;
        *slot(&mut stats, to) += n;
    }

    /// `n` records moving from one place to another.
    pub(super) fn moved(&self, n: u64, from: Place, to: Place) {
        if n == 0 {
            return;
        }
        let mut stats = lock_unpoisoned(&self.0);
        let from = slot(&mut stats, from);
        debug_assert!(
            *from >= n,
            "moving {n} records out of a place that holds {from}"
        );
        *from = from.saturating_sub(n);
        *slot(&mut stats, to) += n;
    }

    /// Any other counter: `sent`, `resent`, `truncated`, `reconnects`,
    /// `connect_errors`.
    pub(super) fn bump(&self, update: impl FnOnce(&mut SinkStats)) {
        update(&mut lock_unpoisoned(&self.0));
    }

    /// Records buffered and in flight: what is not delivered yet.
    pub(crate) fn undelivered(&self) -> u64 {
        let stats = lock_unpoisoned(&self.0);
        stats.buffered + stats.in_flight
    }
}

fn slot(stats: &mut SinkStats, place: Place) -> &mut u64 {
    match place {
        Place::Buffered => &mut stats.buffered,
        Place::InFlight => &mut stats.in_flight,
        Place::Delivered => &mut stats.delivered,
        Place::Failed => &mut stats.failed,
        Place::Dropped => &mut stats.dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_move_keeps_the_identity() {
        let tally = Tally::default();
        tally.accepted(10, Place::Buffered);
        tally.accepted(2, Place::Dropped);
        tally.moved(6, Place::Buffered, Place::InFlight);
        tally.moved(4, Place::InFlight, Place::Delivered);
        tally.moved(1, Place::InFlight, Place::Buffered);
        tally.moved(1, Place::InFlight, Place::Failed);
        let s = tally.snapshot();
        assert!(s.adds_up(), "{s:?}");
        assert_eq!(
            (
                s.accepted,
                s.delivered,
                s.failed,
                s.dropped,
                s.buffered,
                s.in_flight
            ),
            (12, 4, 1, 2, 5, 0)
        );
        assert_eq!(tally.undelivered(), 5);
    }
}
