//! Allocations recycled between the threads that make them and the thread
//! that is done with them.
//!
//! A record's body and its line buffer are made in a caller's thread and
//! dropped in the writer's. Freeing there is what glibc's allocator handles
//! worst: the frees land in the callers' arenas, under the arena lock the
//! callers take to allocate. The profile of four producing tasks put `free`
//! and the lock waits behind it at a third of the writer thread's time. So
//! what the writer is done with goes back to a shared [`Pool`], and callers
//! take it back a few dozen at a time into a thread-local cache: in steady
//! state a record costs no allocation and no shared lock.
//!
//! Nobody ever waits for a pool: a thread that finds it busy allocates (or
//! frees) as without it. That also keeps a child made by `fork()` from
//! hanging on a lock some other thread of its parent held at the fork.
//! Memory stays bounded: at most `limit` items wait in a shared pool, plus
//! [`CACHE_HIGH`] per thread. This module knows nothing of what it keeps.

use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::thread::LocalKey;

/// How many items a thread takes from, or gives to, the shared pool at once.
pub(crate) const REFILL: usize = 64;
/// A thread's cache beyond this gives [`REFILL`] items back to the pool.
const CACHE_HIGH: usize = 2 * REFILL;

/// A thread-local cache of recycled items.
pub(crate) type Cache<T> = RefCell<Vec<T>>;

/// A shared pool of recycled items with a cache per thread.
pub(crate) struct Pool<T: 'static> {
    shared: Mutex<Vec<T>>,
    cache: &'static LocalKey<Cache<T>>,
    /// Most items the shared pool keeps.
    limit: usize,
}

impl<T: 'static> Pool<T> {
    /// A pool keeping at most `limit` items, with `cache` as each thread's.
    pub(crate) const fn new(cache: &'static LocalKey<Cache<T>>, limit: usize) -> Pool<T> {
        Pool {
            shared: Mutex::new(Vec::new()),
            cache,
            limit,
        }
    }

    /// A recycled item, if this thread's cache or the shared pool has one.
    pub(crate) fn take(&self) -> Option<T> {
        self.cache
            .try_with(|cache| {
                let mut cache = cache.try_borrow_mut().ok()?;
                if cache.is_empty()
                    && let Some(mut shared) = self.try_lock()
                {
                    let from = shared.len().saturating_sub(REFILL);
                    cache.extend(shared.drain(from..));
                }
                cache.pop()
            })
            .ok()
            .flatten()
    }

    /// Keeps `item` (already emptied by the caller) for reuse: in this
    /// thread's cache, which hands a batch to the shared pool when it grows
    /// beyond [`CACHE_HIGH`]; what finds no room is dropped.
    pub(crate) fn give(&self, item: T) {
        let _ = self.cache.try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return;
            };
            cache.push(item);
            if cache.len() > CACHE_HIGH {
                let from = cache.len() - REFILL;
                if let Some(mut shared) = self.try_lock() {
                    let room = self.limit.saturating_sub(shared.len());
                    let keep = room.min(REFILL);
                    shared.extend(cache.drain(from..from + keep));
                }
                cache.truncate(from);
            }
        });
    }

    /// Gives every item of `items` (already emptied) to the shared pool at
    /// once; what it has no room for, or all of them when it is busy, is
    /// dropped. Leaves `items` empty.
    pub(crate) fn give_all(&self, items: &mut Vec<T>) {
        if let Some(mut shared) = self.try_lock() {
            let room = self.limit.saturating_sub(shared.len());
            let keep = items.len().min(room);
            shared.extend(items.drain(..keep));
        }
        items.clear();
    }

    /// The shared pool, unless another thread holds it right now.
    fn try_lock(&self) -> Option<MutexGuard<'_, Vec<T>>> {
        match self.shared.try_lock() {
            Ok(shared) => Some(shared),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// How many items wait in the shared pool.
    #[cfg(test)]
    pub(crate) fn shared_len(&self) -> usize {
        crate::sync::lock_unpoisoned(&self.shared).len()
    }

    /// Holds the shared pool, as another thread inside it would.
    #[cfg(test)]
    pub(crate) fn hold(&self) -> MutexGuard<'_, Vec<T>> {
        crate::sync::lock_unpoisoned(&self.shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static CACHE: Cache<u32> = const { RefCell::new(Vec::new()) };
        static OTHER_CACHE: Cache<u32> = const { RefCell::new(Vec::new()) };
    }
    static POOL: Pool<u32> = Pool::new(&CACHE, 100);
    /// For the test that fills its pool, apart from the one that counts.
    static OTHER: Pool<u32> = Pool::new(&OTHER_CACHE, 100);

    #[test]
    fn items_given_in_one_thread_are_taken_in_another() {
        std::thread::spawn(|| {
            for i in 0..(CACHE_HIGH as u32 + 1) {
                POOL.give(i);
            }
        })
        .join()
        .expect("giver");
        let taken = std::thread::spawn(|| std::iter::from_fn(|| POOL.take()).count())
            .join()
            .expect("taker");
        assert_eq!(taken, REFILL, "one batch went to the shared pool");
    }

    #[test]
    fn the_shared_pool_is_bounded_and_never_waited_for() {
        let mut many: Vec<u32> = (0..500).collect();
        OTHER.give_all(&mut many);
        assert!(many.is_empty());
        assert!(OTHER.shared_len() <= 100);
        let held = OTHER.hold();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let taken = OTHER.take();
            OTHER.give_all(&mut vec![1, 2, 3]);
            let _ = done.send(taken);
        });
        let taken = finished
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("take and give returned while the pool was held");
        assert_eq!(taken, None, "a busy pool gives nothing");
        drop(held);
    }
}
