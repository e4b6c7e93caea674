//! Line buffers recycled between the callers and the writer.
//!
//! Every record is formatted into a buffer of its own, which travels through
//! the queue to the writer. Allocating it in the caller and freeing it in the
//! writer thread is what glibc's allocator handles worst: the frees land in
//! the callers' arenas, under the arena lock the callers take to allocate. The
//! profile of four producing tasks (`bash benches/profile.sh ours_async_drop`)
//! put `free` and the lock waits behind it at a third of the writer thread's
//! time. So the writer hands written buffers back in one batch per write
//! ([`recycle`]), and callers take them a few dozen at a time into a
//! thread-local cache ([`take`]): in steady state a record costs no allocation
//! and no shared lock. Nobody waits for the pool: when it is busy, a caller
//! allocates and the writer frees, as without it.
//!
//! Memory stays bounded: at most [`POOL_LIMIT`] buffers wait in the shared
//! pool, each of at most [`KEEP_CAPACITY`] bytes (longer ones are freed), plus
//! [`REFILL`] per thread that logs. This module knows nothing of records or
//! files.

use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard, TryLockError};

/// A buffer larger than this is freed rather than kept.
const KEEP_CAPACITY: usize = 1024;
/// Most buffers the shared pool keeps (with [`KEEP_CAPACITY`], 8 MiB at worst;
/// a typical line's buffer is 256 bytes, 2 MiB).
const POOL_LIMIT: usize = 8192;
/// How many buffers a thread takes from the shared pool at once.
const REFILL: usize = 64;
/// The capacity of a new buffer: a typical line fits without regrowing.
const NEW_CAPACITY: usize = 256;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

thread_local! {
    static CACHE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for at least `capacity` bytes: a recycled one
/// when there is one, else a new one.
pub(crate) fn take(capacity: usize) -> Vec<u8> {
    let recycled = CACHE
        .try_with(|cache| {
            let mut cache = cache.try_borrow_mut().ok()?;
            if cache.is_empty()
                && let Some(mut pool) = try_lock_pool()
            {
                let from = pool.len().saturating_sub(REFILL);
                cache.extend(pool.drain(from..));
            }
            cache.pop()
        })
        .ok()
        .flatten();
    match recycled {
        Some(mut buffer) => {
            buffer.reserve(capacity);
            buffer
        }
        None => Vec::with_capacity(capacity.max(NEW_CAPACITY)),
    }
}

/// Returns written buffers to the shared pool (emptied, one lock for all);
/// what the pool has no room for is freed. Leaves `buffers` empty.
pub(crate) fn recycle(buffers: &mut Vec<Vec<u8>>) {
    buffers.retain(|b| b.capacity() <= KEEP_CAPACITY && b.capacity() > 0);
    if buffers.is_empty() {
        return;
    }
    for buffer in buffers.iter_mut() {
        buffer.clear();
    }
    if let Some(mut pool) = try_lock_pool() {
        let room = POOL_LIMIT.saturating_sub(pool.len());
        let keep = buffers.len().min(room);
        pool.extend(buffers.drain(..keep));
    }
    buffers.clear();
}

/// The shared pool, unless another thread holds it right now. Nobody ever
/// waits for the pool: a caller that finds it busy allocates, a writer frees.
/// That also keeps a child made by `fork()` from hanging on a lock some other
/// thread of its parent held at the fork.
fn try_lock_pool() -> Option<MutexGuard<'static, Vec<Vec<u8>>>> {
    match POOL.try_lock() {
        Ok(pool) => Some(pool),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_no_larger_than_kept() {
        let mut written = vec![
            b"line one\n".to_vec(),
            Vec::with_capacity(KEEP_CAPACITY + 1),
        ];
        written[0].reserve(300);
        recycle(&mut written);
        assert!(written.is_empty());
        // Other tests share the pool, so only what holds for any buffer is checked.
        for _ in 0..(REFILL * 2) {
            let buffer = take(100);
            assert!(buffer.is_empty());
            assert!(buffer.capacity() >= 100);
            assert!(buffer.capacity() <= KEEP_CAPACITY.max(NEW_CAPACITY));
        }
    }

    #[test]
    fn the_pool_is_bounded() {
        let mut many: Vec<Vec<u8>> = (0..POOL_LIMIT + 10)
            .map(|_| Vec::with_capacity(64))
            .collect();
        recycle(&mut many);
        assert!(crate::sync::lock_unpoisoned(&POOL).len() <= POOL_LIMIT);
    }

    #[test]
    fn a_busy_pool_is_never_waited_for() {
        // As in a forked child whose parent had another thread inside the pool.
        let held = crate::sync::lock_unpoisoned(&POOL);
        let (done, finished) = std::sync::mpsc::channel();
        // A new thread starts with an empty cache, so `take` goes to the pool.
        std::thread::spawn(move || {
            let buffer = take(100);
            let capacity = buffer.capacity();
            recycle(&mut vec![buffer]);
            let _ = done.send(capacity);
        });
        let capacity = finished
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("take and recycle returned while the pool was held");
        assert!(capacity >= 100);
        drop(held);
    }

    #[test]
    fn a_buffer_larger_than_asked_for_still_fits_a_long_line() {
        let buffer = take(5000);
        assert!(buffer.capacity() >= 5000);
    }
}
