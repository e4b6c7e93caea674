//! Small synchronisation helpers.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Instant;

/// Locks a mutex, recovering it if a panicking thread poisoned it: one caller's
/// panic must not stop logging for everyone else (as tracing-appender does).
pub(crate) fn lock_unpoisoned<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// [`lock_unpoisoned`] without waiting: `None` while another thread holds it.
pub(crate) fn try_lock_unpoisoned<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Runs `f`, which blocks, without stalling a multi-thread runtime's other
/// tasks (`block_in_place` moves them to another thread first). On a
/// `current_thread` runtime, or outside a runtime, it simply blocks: the
/// handlers' writers run on threads of their own, so this cannot deadlock.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
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

/// Awaits `future` until `deadline`; `None` when the deadline came first
/// (the future is dropped then). Needs no runtime's timer, so it works on
/// any executor: a thread of its own wakes the task at the deadline (this
/// serves the rare deadline-taking shutdown, not a hot path).
pub(crate) async fn until<F: Future>(future: F, deadline: Instant) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
    let mut timer_started = false;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if Instant::now() >= deadline {
            return Poll::Ready(None);
        }
        *lock_unpoisoned(&waker) = Some(cx.waker().clone());
        if !timer_started {
            timer_started = true;
            let waker = Arc::clone(&waker);
            let spawned = std::thread::Builder::new()
                .name("clh-deadline".into())
                .spawn(move || {
                    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                    if let Some(waker) = lock_unpoisoned(&waker).take() {
                        waker.wake();
                    }
                });
            if spawned.is_err() {
                // No timer: the deadline is checked whenever the future is
                // polled again, which the writer's answer does.
                timer_started = false;
            }
        }
        Poll::Pending
    })
    .await
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
    fn until_gives_up_at_its_deadline_on_any_executor() {
        let (_tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let deadline = Instant::now() + Duration::from_millis(30);
        assert_eq!(futures::executor::block_on(until(rx, deadline)), None);
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let _ = tx.send(5);
        let deadline = Instant::now() + Duration::from_secs(10);
        assert_eq!(
            futures::executor::block_on(until(rx, deadline)),
            Some(Ok(5))
        );
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
