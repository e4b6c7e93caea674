//! How a waiting caller learns that its record arrived: from one sink, or
//! only once every sink that confirms has.
//!
//! A caller of `emit_wait` holds the receiving end of a oneshot channel. When
//! one sink confirms (the default: the local file), the sink gets that
//! sender, wrapped. When several must (the file and the syslog collector),
//! the sender is [split](Confirm::split) into parts: the caller hears `Ok`
//! once every part said `Ok`, and the first error at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::sync::lock_unpoisoned;

/// One sink's way to tell a waiting caller how its record went. Dropped
/// without an answer, it tells `Closed`.
#[derive(Debug)]
pub(crate) struct Confirm(Option<Kind>);

#[derive(Debug)]
#[cfg_attr(not(feature = "syslog"), allow(dead_code))] // parts need two sinks
enum Kind {
    Whole(oneshot::Sender<Result<()>>),
    Part(Arc<Joint>),
}

/// The caller's sender, shared by the parts of a split confirm.
#[derive(Debug)]
struct Joint {
    waiter: Mutex<Option<oneshot::Sender<Result<()>>>>,
    /// Parts that have not said `Ok` yet.
    remaining: AtomicUsize,
}

impl Confirm {
    /// The whole answer goes to `waiter`.
    pub(crate) fn new(waiter: oneshot::Sender<Result<()>>) -> Confirm {
        Confirm(Some(Kind::Whole(waiter)))
    }

    /// `parts` confirms (at least one) that answer `waiter` together.
    #[cfg_attr(not(feature = "syslog"), allow(dead_code))]
    pub(crate) fn split(waiter: oneshot::Sender<Result<()>>, parts: usize) -> Vec<Confirm> {
        if parts <= 1 {
            return vec![Confirm::new(waiter)];
        }
        let joint = Arc::new(Joint {
            waiter: Mutex::new(Some(waiter)),
            remaining: AtomicUsize::new(parts),
        });
        (0..parts)
            .map(|_| Confirm(Some(Kind::Part(Arc::clone(&joint)))))
            .collect()
    }

    /// Tells how the record went (for a part: this sink's share of it).
    pub(crate) fn send(mut self, result: Result<()>) {
        self.answer(result);
    }

    fn answer(&mut self, result: Result<()>) {
        match self.0.take() {
            Some(Kind::Whole(waiter)) => {
                let _ = waiter.send(result);
            }
            Some(Kind::Part(joint)) => {
                let last = joint.remaining.fetch_sub(1, Ordering::AcqRel) == 1;
                if result.is_err() || last {
                    // The first error, or the last Ok, answers; later
                    // answers find the waiter gone.
                    if let Some(waiter) = lock_unpoisoned(&joint.waiter).take() {
                        let _ = waiter.send(result);
                    }
                }
            }
            None => {}
        }
    }
}

impl Drop for Confirm {
    fn drop(&mut self) {
        if self.0.is_some() {
            self.answer(Err(Error::closed()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn answered(rx: &mut oneshot::Receiver<Result<()>>) -> Option<Result<()>> {
        rx.try_recv().ok()
    }

    #[test]
    fn a_split_confirm_answers_ok_once_every_part_did() {
        let (tx, mut rx) = oneshot::channel();
        let mut parts = Confirm::split(tx, 2);
        parts.pop().expect("part").send(Ok(()));
        assert!(answered(&mut rx).is_none(), "one part is not enough");
        parts.pop().expect("part").send(Ok(()));
        assert!(matches!(answered(&mut rx), Some(Ok(()))));
    }

    #[test]
    fn the_first_error_of_a_part_answers_at_once() {
        let (tx, mut rx) = oneshot::channel();
        let mut parts = Confirm::split(tx, 2);
        parts
            .pop()
            .expect("part")
            .send(Err(Error::plain(ErrorKind::Write)));
        let err = answered(&mut rx).expect("answered").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Write);
        parts.pop().expect("part").send(Ok(())); // too late, harmless
    }

    #[test]
    fn a_dropped_confirm_answers_closed() {
        let (tx, mut rx) = oneshot::channel();
        drop(Confirm::new(tx));
        assert!(
            answered(&mut rx)
                .expect("answered")
                .unwrap_err()
                .is_closed()
        );
        let (tx, mut rx) = oneshot::channel();
        let mut parts = Confirm::split(tx, 2);
        parts.pop().expect("part").send(Ok(()));
        drop(parts);
        assert!(
            answered(&mut rx)
                .expect("answered")
                .unwrap_err()
                .is_closed()
        );
    }
}
