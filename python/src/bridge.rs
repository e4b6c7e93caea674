//! Awaitables on an asyncio loop, resolved from Rust without the GIL.
//!
//! A [`LoopBridge`] belongs to one event loop. It runs the crate's futures
//! (`emit_wait`, `flush`, `shutdown`) on that loop's thread: it polls each
//! once when it is created and again whenever the crate wakes it. The wake
//! comes from the crate's writer thread, which never takes the GIL: it
//! notes the task as ready and writes to an `eventfd` that the loop watches
//! (`loop.add_reader`). The loop then calls [`LoopBridge::run`], which
//! polls the ready tasks and resolves their `asyncio.Future`s. So a
//! thousand confirmations cost the writer thread a thousand list pushes
//! and at most one `write(2)`, and cost the loop no GIL contention.
//!
//! A task whose awaiting coroutine was cancelled keeps running: its record
//! is written (or its shutdown completes) all the same; only the result
//! goes nowhere.

use std::collections::HashMap;
use std::future::Future;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use pyo3::exceptions::PyOSError;
use pyo3::intern;
use pyo3::prelude::*;

use crate::block::block_on_until;

/// One of the crate's futures, as the bridge runs it.
pub(crate) type Work = Pin<Box<dyn Future<Output = concurrent_log_handler::Result<()>> + Send>>;

/// What the writer thread touches: the ready list and the eventfd.
struct Signal {
    fd: OwnedFd,
    ready: Mutex<Vec<u64>>,
    /// The eventfd was written and the loop has not run since.
    armed: AtomicBool,
}

struct TaskWaker {
    id: u64,
    signal: Arc<Signal>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        lock(&self.signal.ready).push(self.id);
        if !self.signal.armed.swap(true, Ordering::AcqRel) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to an eventfd this
            // signal owns (it lives as long as the Arc). A failed write
            // (EAGAIN at a counter of u64::MAX - 1) leaves the fd readable,
            // which is all that is needed.
            let _ = unsafe {
                libc::write(
                    self.signal.fd.as_raw_fd(),
                    (&raw const one).cast::<libc::c_void>(),
                    8,
                )
            };
        }
    }
}

struct Task {
    work: Work,
    future: Py<PyAny>,
    waker: Waker,
}

/// Runs the crate's futures for one asyncio loop; see the module docs.
#[pyclass(frozen, module = "concurrent_log_handler_rs._engine")]
pub(crate) struct LoopBridge {
    signal: Arc<Signal>,
    tasks: Mutex<HashMap<u64, Task>>,
    next: AtomicU64,
    event_loop: Py<PyAny>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[pymethods]
impl LoopBridge {
    /// A bridge for `event_loop`; the caller registers
    /// `event_loop.add_reader(bridge.fileno(), bridge.run)`.
    #[new]
    fn new(event_loop: Py<PyAny>) -> PyResult<Self> {
        // SAFETY: eventfd takes no pointers; a negative result is an error,
        // anything else a new descriptor that only this OwnedFd owns.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(PyOSError::new_err(format!(
                "eventfd for the asyncio bridge: {}",
                std::io::Error::last_os_error()
            )));
        }
        // SAFETY: `fd` was just returned by eventfd and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(LoopBridge {
            signal: Arc::new(Signal {
                fd,
                ready: Mutex::new(Vec::new()),
                armed: AtomicBool::new(false),
            }),
            tasks: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            event_loop,
        })
    }

    /// The eventfd the loop watches.
    fn fileno(&self) -> i32 {
        self.signal.fd.as_raw_fd()
    }

    /// How many awaitables are not resolved yet.
    fn pending(&self) -> usize {
        lock(&self.tasks).len()
    }

    /// The loop's reader callback: polls the tasks the crate woke and
    /// resolves those that finished.
    fn run(&self, py: Python<'_>) -> PyResult<()> {
        let mut counter = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a live 8-byte buffer from an
        // eventfd this bridge owns; EAGAIN (nothing to read) is harmless.
        let _ = unsafe {
            libc::read(
                self.signal.fd.as_raw_fd(),
                counter.as_mut_ptr().cast::<libc::c_void>(),
                8,
            )
        };
        // Disarm before taking the list: a wake after this writes again.
        self.signal.armed.store(false, Ordering::Release);
        let ready = std::mem::take(&mut *lock(&self.signal.ready));
        let mut done = Vec::new();
        {
            let mut tasks = lock(&self.tasks);
            for id in ready {
                let Some(task) = tasks.get_mut(&id) else {
                    continue;
                };
                let mut cx = Context::from_waker(&task.waker);
                if let Poll::Ready(result) = task.work.as_mut().poll(&mut cx)
                    && let Some(task) = tasks.remove(&id)
                {
                    done.push((task.future, result));
                }
            }
        }
        for (future, result) in done {
            resolve(py, future.bind(py), result)?;
        }
        Ok(())
    }

    /// Runs every unfinished task to its end on this thread (the GIL
    /// released), waiting at most `timeout` seconds in all, and resolves
    /// their awaitables through `call_soon_threadsafe` while the loop is
    /// open. For `close()`: no record a coroutine handed over is left
    /// behind, even if its loop never runs again. Returns how many tasks
    /// did not finish in time.
    fn finish(&self, py: Python<'_>, timeout: f64) -> usize {
        let tasks: Vec<Task> = lock(&self.tasks).drain().map(|(_, t)| t).collect();
        let deadline = Instant::now() + crate::engine::seconds(timeout);
        let mut unfinished = 0;
        for task in tasks {
            let work = task.work;
            match py.detach(|| block_on_until(work, Some(deadline))) {
                Some(result) => {
                    let _ = self.resolve_threadsafe(py, task.future.bind(py), result);
                }
                None => unfinished += 1,
            }
        }
        unfinished
    }
}

impl LoopBridge {
    /// Starts `work` for the awaitable this returns: polls it once now (the
    /// GIL released: it may write its line itself, on an idle handler) and
    /// keeps it until it finishes.
    pub(crate) fn spawn(&self, py: Python<'_>, mut work: Work) -> PyResult<Py<PyAny>> {
        let future = self
            .event_loop
            .bind(py)
            .call_method0(intern!(py, "create_future"))?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let waker = Waker::from(Arc::new(TaskWaker {
            id,
            signal: Arc::clone(&self.signal),
        }));
        let polled = py.detach(|| {
            let mut cx = Context::from_waker(&waker);
            match work.as_mut().poll(&mut cx) {
                Poll::Ready(result) => Ok(result),
                Poll::Pending => Err(work),
            }
        });
        match polled {
            Ok(result) => resolve(py, &future, result)?,
            Err(work) => {
                lock(&self.tasks).insert(
                    id,
                    Task {
                        work,
                        future: future.clone().unbind(),
                        waker,
                    },
                );
            }
        }
        Ok(future.unbind())
    }

    /// Resolves `future` from any thread, through the loop.
    fn resolve_threadsafe(
        &self,
        py: Python<'_>,
        future: &Bound<'_, PyAny>,
        result: concurrent_log_handler::Result<()>,
    ) -> PyResult<()> {
        let event_loop = self.event_loop.bind(py);
        if event_loop
            .call_method0(intern!(py, "is_closed"))?
            .is_truthy()?
        {
            return Ok(());
        }
        let (method, value) = match result {
            Ok(()) => ("set_result", py.None()),
            Err(error) => (
                "set_exception",
                crate::errors::to_py(&error).into_value(py).into_any(),
            ),
        };
        let helper = py
            .import("concurrent_log_handler_rs._asyncio")?
            .getattr("resolve")?;
        event_loop.call_method1(
            intern!(py, "call_soon_threadsafe"),
            (helper, future, method, value),
        )?;
        Ok(())
    }
}

impl Drop for LoopBridge {
    fn drop(&mut self) {
        let tasks: Vec<Task> = lock(&self.tasks).drain().map(|(_, t)| t).collect();
        if tasks.is_empty() {
            return;
        }
        // Records their coroutines handed over are written even though
        // nobody awaits them any more.
        let deadline = Instant::now() + Duration::from_secs(2);
        Python::attach(|py| {
            py.detach(|| {
                for task in tasks {
                    let _ = block_on_until(task.work, Some(deadline));
                }
            });
        });
    }
}

/// Sets `future`'s outcome, unless it is already done (cancelled).
fn resolve(
    py: Python<'_>,
    future: &Bound<'_, PyAny>,
    result: concurrent_log_handler::Result<()>,
) -> PyResult<()> {
    if future.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    match result {
        Ok(()) => future.call_method1(intern!(py, "set_result"), (py.None(),))?,
        Err(error) => future.call_method1(
            intern!(py, "set_exception"),
            (crate::errors::to_py(&error).into_value(py),),
        )?,
    };
    Ok(())
}
