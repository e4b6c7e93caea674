//! Line buffers recycled between the callers and the writer (see
//! [`crate::pool`]).
//!
//! A record formatted in its caller's thread travels to the writer in a
//! buffer of its own. The writer hands written buffers back in one batch per
//! write ([`recycle`]), and callers take them a few dozen at a time
//! ([`take`]). At most [`POOL_LIMIT`] buffers wait in the shared pool, each of
//! at most [`KEEP_CAPACITY`] bytes (longer ones are freed). This module knows
//! nothing of records or files.

use std::cell::RefCell;

use crate::pool::{Cache, Pool};

/// A buffer larger than this is freed rather than kept.
const KEEP_CAPACITY: usize = 1024;
/// Most buffers the shared pool keeps (with [`KEEP_CAPACITY`], 8 MiB at worst;
/// a typical line's buffer is 256 bytes, 2 MiB).
const POOL_LIMIT: usize = 8192;
/// The capacity of a new buffer: a typical line fits without regrowing.
const NEW_CAPACITY: usize = 256;

thread_local! {
    static CACHE: Cache<Vec<u8>> = const { RefCell::new(Vec::new()) };
}
static POOL: Pool<Vec<u8>> = Pool::new(&CACHE, POOL_LIMIT);

/// An empty buffer with room for at least `capacity` bytes: a recycled one
/// when there is one, else a new one.
pub(crate) fn take(capacity: usize) -> Vec<u8> {
    match POOL.take() {
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
    for buffer in buffers.iter_mut() {
        buffer.clear();
    }
    if !buffers.is_empty() {
        POOL.give_all(buffers);
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
        for _ in 0..(crate::pool::REFILL * 2) {
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
        assert!(POOL.shared_len() <= POOL_LIMIT);
    }

    #[test]
    fn a_busy_pool_is_never_waited_for() {
        // As in a forked child whose parent had another thread inside the pool.
        let held = POOL.hold();
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
