//! Small synchronisation helpers.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Instant;

/// Locks a mutex, recovering it if a panicking thread poisoned it: one caller's
/// panic must not stop logging for everyone else (as tracing-appender does).
pub(crate) fn lock_unpoisoned<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Wakes a thread parked in [`block_on_until`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` on the calling thread, parking it while the future waits,
/// until it completes or `deadline` passes (`None`: no deadline). Returns
/// `None` at the deadline; the future is dropped then.
///
/// This is `futures::executor::block_on` with a deadline. It needs no async
/// runtime, and it may be called from inside one (tokio's own `blocking_*`
/// methods panic there): the tokio channels it waits on work with any waker.
pub(crate) fn block_on_until<F: Future>(future: F, deadline: Option<Instant>) -> Option<F::Output> {
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        match deadline {
            None => std::thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return None;
                }
                std::thread::park_timeout(deadline - now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn completes_when_woken_from_another_thread() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let _ = tx.send(7);
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        assert_eq!(block_on_until(rx, Some(deadline)), Some(Ok(7)));
    }

    #[test]
    fn gives_up_at_the_deadline() {
        let (_tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let started = Instant::now();
        let deadline = started + Duration::from_millis(30);
        assert!(block_on_until(rx, Some(deadline)).is_none());
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
