//! The sink's one deadline, as its tasks see it.

use std::future::Future;
use std::time::Instant;

use tokio::sync::watch;

/// The deadline as the task sees it: none until the sink is closed, then
/// one [`Instant`] (only ever brought forward) that every await races.
#[derive(Debug)]
pub(super) struct Closing {
    rx: watch::Receiver<Option<Instant>>,
    /// The handle is gone: no change can come any more (the deadline it set
    /// as it went stays).
    orphaned: bool,
}

impl Closing {
    pub(super) fn new(rx: watch::Receiver<Option<Instant>>) -> Closing {
        Closing {
            rx,
            orphaned: false,
        }
    }

    /// The deadline, once the sink is closing.
    pub(super) fn deadline(&self) -> Option<Instant> {
        *self.rx.borrow()
    }

    /// The sink is closing: deliver what is left, then end.
    pub(super) fn draining(&self) -> bool {
        self.deadline().is_some()
    }

    /// The deadline passed: give up what is left.
    pub(super) fn passed(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// Runs `f` until it completes (`Some`) or the deadline passes
    /// (`None`; `f` is dropped then). A deadline set or brought forward
    /// while `f` runs is obeyed.
    pub(super) async fn run<F: Future>(&mut self, f: F) -> Option<F::Output> {
        let mut f = std::pin::pin!(f);
        loop {
            let deadline = *self.rx.borrow_and_update();
            let passed = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                out = &mut f => return Some(out),
                () = passed => return None,
                changed = self.rx.changed(), if !self.orphaned => {
                    if changed.is_err() {
                        self.orphaned = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_deadline_set_while_waiting_ends_the_wait_and_only_comes_forward() {
        let (tx, rx) = watch::channel(None);
        let mut closing = Closing::new(rx);
        assert_eq!(closing.run(async { 7 }).await, Some(7));
        let started = Instant::now();
        let setter = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            tx.send_replace(Some(Instant::now() + Duration::from_millis(30)));
            tx // kept alive: dropping it must not matter either
        });
        let out = closing.run(std::future::pending::<()>()).await;
        assert_eq!(out, None);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(50) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        assert!(closing.draining() && closing.passed());
        let tx = setter.await.expect("setter");
        drop(tx);
        // Orphaned, with a deadline past: runs end at once.
        assert_eq!(closing.run(std::future::pending::<()>()).await, None);
    }
}
