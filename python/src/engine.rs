//! [`Engine`]: one Python handler's core. It renders a `LogRecord` into its
//! line (see [`crate::format`]) and hands the line to one of the crate's
//! queued handlers, deciding what the caller waits for:
//!
//! | Python class | crate handler | `emit` |
//! |---|---|---|
//! | `ConcurrentRotatingFileHandler` (and timed) | thread handler | waits until the line is written (`emit_wait`), like Python CLH |
//! | `NonBlockingConcurrentHandler` | thread handler | queues it; at or above `sync_level` waits; a full queue waits (`fallback_on_full`) or drops |
//! | `AsyncConcurrentHandler` | async handler | queues it; a full queue drops, waits (`block`) or writes on a pool (`nowait`) |
//!
//! Every wait happens with the GIL released. Queueing does not release it:
//! a push costs less than giving the GIL away and taking it back.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use concurrent_log_handler::{
    AsyncConcurrentHandler, FallbackMode, Level, NonBlockingConcurrentHandler, Record, Stats,
    TryEmitError, WriterGuard,
};
use pyo3::exceptions::{PyRuntimeError, PyTimeoutError, PyUnicodeEncodeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::block::block_on_until;
use crate::bridge::LoopBridge;
use crate::errors::to_py;
use crate::format::LineFormat;
use crate::options::Options;

/// The crate handler behind an engine.
enum Core {
    Thread(NonBlockingConcurrentHandler),
    Async(AsyncConcurrentHandler),
}

/// What `emit` waits for; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waits {
    /// Every record is on disk when `emit` returns.
    Always,
    /// Records at or above `sync_level`.
    AtLevel,
}

/// A Python handler's core; see the module docs.
#[pyclass(frozen, module = "concurrent_log_handler_rs._engine")]
pub(crate) struct Engine {
    core: Core,
    waits: Waits,
    sync_level: Option<i64>,
    fallback: FallbackMode,
    /// `unicode_error_policy`, for lines holding lone surrogates.
    errors: Py<PyString>,
    terminator: String,
    /// The compiled formatter, rebuilt when the handler's formatter changes.
    /// Only used with the GIL held, so never contended.
    format: Mutex<Option<Arc<LineFormat>>>,
    /// The thread handler's guard, until `close`.
    guard: Mutex<Option<WriterGuard>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A runtime for the async handler's `nowait` writes, one per process (a
/// forked child builds its own: the parent's threads did not survive).
fn nowait_runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: Mutex<Option<(u32, &'static tokio::runtime::Runtime)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = lock(&RUNTIME);
    if let Some((owner, runtime)) = *slot
        && owner == pid
    {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("clh-nowait")
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("the nowait runtime: {e}")))?;
    // Never dropped: in a forked child, dropping the parent's copy would
    // wait for threads that do not exist there.
    let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(runtime));
    *slot = Some((pid, runtime));
    Ok(runtime)
}

/// Python's `levelno` as the crate's level (for the crate's own counters
/// and drop reports; what waits is decided on `levelno` itself).
fn level_of(levelno: i64) -> Level {
    match levelno {
        n if n >= 50 => Level::Critical,
        n if n >= 40 => Level::Error,
        n if n >= 30 => Level::Warn,
        n if n >= 20 => Level::Info,
        n if n >= 10 => Level::Debug,
        _ => Level::Trace,
    }
}

/// `seconds` as a duration (negative or NaN: zero; huge: a day).
pub(crate) fn seconds(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::from_secs(86_400))
}

#[pymethods]
impl Engine {
    /// `kind`: `"blocking"`, `"thread"` or `"async"`.
    #[new]
    fn new(py: Python<'_>, kind: &str, options: &Bound<'_, PyDict>) -> PyResult<Self> {
        let options: Options = options.extract()?;
        let fallback = options.fallback_mode()?;
        let (core, guard, waits) = match kind {
            "blocking" | "thread" => {
                let builder = options.thread_builder()?;
                let (handler, guard) = py.detach(|| builder.build()).map_err(|e| to_py(&e))?;
                let waits = if kind == "blocking" {
                    Waits::Always
                } else {
                    Waits::AtLevel
                };
                (Core::Thread(handler), Some(guard), waits)
            }
            "async" => {
                let builder = options.async_builder()?;
                let handler = if fallback == FallbackMode::Nowait {
                    let _entered = nowait_runtime()?.enter();
                    py.detach(|| builder.build())
                } else {
                    py.detach(|| builder.build())
                }
                .map_err(|e| to_py(&e))?;
                (Core::Async(handler), None, Waits::AtLevel)
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "engine kind {other:?}: expected blocking, thread or async"
                )));
            }
        };
        Ok(Engine {
            core,
            waits,
            sync_level: options.sync_level,
            fallback,
            errors: PyString::new(py, &options.errors).unbind(),
            terminator: options.terminator,
            format: Mutex::new(None),
            guard: Mutex::new(guard),
        })
    }

    /// Renders `record` with `formatter` and logs it. `False` when the
    /// formatter must run in Python: the caller then calls
    /// [`emit_text`](Self::emit_text) with its result.
    fn emit(
        &self,
        py: Python<'_>,
        record: &Bound<'_, PyAny>,
        formatter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let levelno = levelno(record)?;
        let Some(line) = self.render(py, levelno, record, formatter)? else {
            return Ok(false);
        };
        self.dispatch(py, levelno, line)?;
        Ok(true)
    }

    /// Logs `text`, a record `formatter.format` rendered in Python, at
    /// `levelno`.
    fn emit_text(&self, py: Python<'_>, levelno: i64, text: &Bound<'_, PyString>) -> PyResult<()> {
        let line = self.line_of(levelno, text)?;
        self.dispatch(py, levelno, line)
    }

    /// The awaitable `emit_wait` of the async handler: logs `record` (or
    /// `text`, rendered in Python) and returns a future of `bridge`'s loop
    /// that resolves once the line is in the file. `None` when the
    /// formatter must run in Python first.
    #[pyo3(signature = (record, formatter, bridge, text=None))]
    fn emit_wait(
        &self,
        py: Python<'_>,
        record: &Bound<'_, PyAny>,
        formatter: Option<&Bound<'_, PyAny>>,
        bridge: &Bound<'_, LoopBridge>,
        text: Option<&Bound<'_, PyString>>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let levelno = levelno(record)?;
        let record = match text {
            Some(text) => self.line_of(levelno, text)?,
            None => match self.render(py, levelno, record, formatter)? {
                Some(line) => line,
                None => return Ok(None),
            },
        };
        let work: crate::bridge::Work = match &self.core {
            Core::Async(handler) => {
                let handler = handler.clone();
                Box::pin(async move { handler.emit_wait(record).await })
            }
            Core::Thread(handler) => {
                let handler = handler.clone();
                Box::pin(async move { handler.emit_wait(record) })
            }
        };
        bridge.get().spawn(py, work).map(Some)
    }

    /// An awaitable of `bridge`'s loop for a flush of the async handler.
    fn flush_async(&self, py: Python<'_>, bridge: &Bound<'_, LoopBridge>) -> PyResult<Py<PyAny>> {
        let handler = self.async_handler()?.clone();
        bridge
            .get()
            .spawn(py, Box::pin(async move { handler.flush().await }))
    }

    /// An awaitable of `bridge`'s loop for the async handler's shutdown.
    fn shutdown_async(
        &self,
        py: Python<'_>,
        bridge: &Bound<'_, LoopBridge>,
    ) -> PyResult<Py<PyAny>> {
        let handler = self.async_handler()?.clone();
        bridge
            .get()
            .spawn(py, Box::pin(async move { handler.shutdown().await }))
    }

    /// Blocks (the GIL released) until everything accepted is written, at
    /// most `timeout` seconds.
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let timeout = seconds(timeout);
        match &self.core {
            Core::Thread(handler) => py
                .detach(|| handler.flush_timeout(timeout))
                .map_err(|e| to_py(&e)),
            Core::Async(handler) => {
                let deadline = Instant::now() + timeout;
                match py.detach(|| block_on_until(handler.flush(), Some(deadline))) {
                    Some(result) => result.map_err(|e| to_py(&e)),
                    None => Err(timed_out("flush", timeout)),
                }
            }
        }
    }

    /// Stops taking records and writes everything accepted, waiting at most
    /// `timeout` seconds (`TimeoutError` then: the writer goes on in the
    /// background). The thread handler can be started again
    /// ([`start`](Self::start)); the async handler is shut down for good.
    fn stop(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let timeout = seconds(timeout);
        let result = match &self.core {
            Core::Thread(handler) => py.detach(|| handler.stop_timeout(timeout)),
            Core::Async(handler) => py.detach(|| handler.blocking_shutdown(timeout)),
        };
        result.map_err(|e| to_py(&e))
    }

    /// Takes records again after [`stop`](Self::stop) (thread handler).
    fn start(&self) -> PyResult<()> {
        match &self.core {
            Core::Thread(handler) => handler.start().map_err(|e| to_py(&e)),
            Core::Async(_) => Err(PyRuntimeError::new_err(
                "an AsyncConcurrentHandler that was shut down cannot start again; create a new one",
            )),
        }
    }

    /// [`stop`](Self::stop) for good: also lets go of the writer thread.
    fn close(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let stopped = self.stop(py, timeout);
        if let Some(guard) = lock(&self.guard).take() {
            if stopped.is_ok() {
                // Stopped already: its drop returns at once.
                py.detach(|| drop(guard));
            } else {
                // Its drop would wait for the writer again; let it finish
                // in the background instead.
                std::mem::forget(guard);
            }
        }
        stopped
    }

    /// Whether the handler takes no records (stopped or shut down).
    fn is_closed(&self) -> bool {
        match &self.core {
            Core::Thread(handler) => handler.is_closed(),
            Core::Async(handler) => handler.is_closed(),
        }
    }

    /// The counters, with Python CLH's names for the queue's (`queue_depth`,
    /// `capacity`, `dropped_count`, `fallback_count`) and the crate's for the
    /// rest.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s: Stats = match &self.core {
            Core::Thread(handler) => handler.stats(),
            Core::Async(handler) => handler.stats(),
        };
        let dict = PyDict::new(py);
        for (key, value) in [
            ("queue_depth", s.queue_depth),
            ("capacity", s.queue_capacity),
            ("dropped_count", s.dropped),
            ("fallback_count", s.fallback),
            ("emitted", s.emitted),
            ("queued", s.queued),
            ("written", s.written),
            ("dropped", s.dropped),
            ("fallback", s.fallback),
            ("failed", s.failed),
            ("write_errors", s.write_errors),
            ("batches", s.batches),
            ("bytes_written", s.bytes_written),
            ("rotations", s.rotations),
            ("rotation_errors", s.rotation_errors),
            ("drop_reports", s.drop_reports),
            ("compressions", s.compressions),
            ("compression_errors", s.compression_errors),
        ] {
            dict.set_item(key, value)?;
        }
        Ok(dict)
    }

    /// The absolute path of the log.
    #[getter]
    fn path(&self) -> String {
        match &self.core {
            Core::Thread(handler) => handler.path(),
            Core::Async(handler) => handler.path(),
        }
        .display()
        .to_string()
    }

    /// The path of the lock file.
    #[getter]
    fn lock_path(&self) -> String {
        match &self.core {
            Core::Thread(handler) => handler.lock_path(),
            Core::Async(handler) => handler.lock_path(),
        }
        .display()
        .to_string()
    }
}

impl Engine {
    /// The compiled form of `formatter`, compiled again when it changed.
    fn format_for(
        &self,
        py: Python<'_>,
        formatter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Arc<LineFormat>> {
        let mut slot = lock(&self.format);
        if let Some(format) = &*slot
            && format.is_for(formatter)
        {
            return Ok(Arc::clone(format));
        }
        let format = Arc::new(LineFormat::compile(py, formatter)?);
        *slot = Some(Arc::clone(&format));
        Ok(format)
    }

    /// A crate record whose message is `record`'s line with the
    /// terminator; `None` when Python must format it (a formatter of its
    /// own, or a value only Python renders or refuses: it then raises what
    /// Python raises). The line is rendered into a buffer the writer handed
    /// back ([`Record::write_message`]): in steady state no allocation, and
    /// nothing this thread allocates is freed by the writer's.
    fn render(
        &self,
        py: Python<'_>,
        levelno: i64,
        record: &Bound<'_, PyAny>,
        formatter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Record>> {
        let format = self.format_for(py, formatter)?;
        let mut line = Record::new(level_of(levelno), "");
        let mut rendered = false;
        line.write_message(|out| {
            rendered = matches!(format.render(record, out), Ok(true));
            if rendered {
                out.push_str(&self.terminator);
            }
        });
        Ok(rendered.then_some(line))
    }

    /// A crate record of `text` plus the terminator; lone surrogates follow
    /// the handler's `unicode_error_policy`, as Python CLH applies it.
    fn line_of(&self, levelno: i64, text: &Bound<'_, PyString>) -> PyResult<Record> {
        let lossy;
        let text = match text.to_str() {
            Ok(text) => text,
            Err(error) if error.is_instance_of::<PyUnicodeEncodeError>(text.py()) => {
                let py = text.py();
                let bytes = text.call_method1(
                    intern!(py, "encode"),
                    (intern!(py, "utf-8"), self.errors.bind(py)),
                )?;
                let bytes: Vec<u8> = bytes.extract()?;
                lossy = String::from_utf8_lossy(&bytes).into_owned();
                lossy.as_str()
            }
            Err(error) => return Err(error),
        };
        let mut line = Record::new(level_of(levelno), "");
        line.write_message(|out| {
            out.push_str(text);
            out.push_str(&self.terminator);
        });
        Ok(line)
    }

    fn async_handler(&self) -> PyResult<&AsyncConcurrentHandler> {
        match &self.core {
            Core::Async(handler) => Ok(handler),
            Core::Thread(_) => Err(PyRuntimeError::new_err("not an asyncio handler")),
        }
    }

    /// Hands `record` to the crate: waits for it, or queues it (see the
    /// module docs).
    fn dispatch(&self, py: Python<'_>, levelno: i64, record: Record) -> PyResult<()> {
        let waits =
            self.waits == Waits::Always || self.sync_level.is_some_and(|sync| levelno >= sync);
        match &self.core {
            Core::Thread(handler) => {
                if waits {
                    return py
                        .detach(|| handler.emit_wait(record))
                        .map_err(|e| to_py(&e));
                }
                match handler.try_emit(record) {
                    Ok(()) => {}
                    Err(TryEmitError::Full(record)) if self.fallback == FallbackMode::Block => {
                        py.detach(|| handler.emit(record));
                    }
                    Err(TryEmitError::Full(record) | TryEmitError::Closed(record)) => {
                        handler.emit(record);
                    }
                    Err(_) => {}
                }
                Ok(())
            }
            Core::Async(handler) => {
                // In a forked child the first use rebuilds the handler; in
                // the runtime's context it keeps its `nowait` writes.
                let _entered = match self.fallback {
                    FallbackMode::Nowait => Some(nowait_runtime()?.enter()),
                    _ => None,
                };
                if waits {
                    return match py.detach(|| block_on_until(handler.emit_wait(record), None)) {
                        Some(result) => result.map_err(|e| to_py(&e)),
                        None => Err(timed_out("emit", Duration::MAX)),
                    };
                }
                match handler.try_emit(record) {
                    Ok(()) => {}
                    Err(TryEmitError::Full(record)) => match self.fallback {
                        FallbackMode::Block => py.detach(|| handler.emit(record)),
                        FallbackMode::Nowait => handler.emit(record),
                        _ => handler.emit(record),
                    },
                    Err(TryEmitError::Closed(record)) => handler.emit(record),
                    Err(_) => {}
                }
                Ok(())
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // A handler that was never closed: the writer drains what it holds
        // on a thread of its own, so that a garbage collection never blocks
        // on the file (the process's exit hook covers the rest).
        if let Some(guard) = lock(&self.guard).take() {
            let _ = std::thread::Builder::new()
                .name("clh-py-drop".into())
                .spawn(move || drop(guard));
        }
    }
}

/// The record's `levelno`.
fn levelno(record: &Bound<'_, PyAny>) -> PyResult<i64> {
    record.getattr(intern!(record.py(), "levelno"))?.extract()
}

/// The error of a wait that gave up after `timeout`.
fn timed_out(what: &str, timeout: Duration) -> PyErr {
    PyTimeoutError::new_err(format!("{what}: not done within {timeout:?}"))
}
