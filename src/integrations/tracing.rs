//! `tracing` integration: a [`Layer`] that turns events into [`Record`]s, and
//! [`MakeWriter`] for the handlers, so `tracing_subscriber::fmt()` can write
//! through them ([`CachedTimer`] makes fmt's timestamps cheaper).
//!
//! The layer, with the spans an event happened in written as
//! `tracing_subscriber::fmt()` writes them (`request{id=7}: …`):
//!
//! ```
//! use concurrent_log_handler::integrations::tracing::ConcurrentLogLayer;
//! use concurrent_log_handler::NonBlockingConcurrentHandler;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let dir = tempfile::tempdir()?;
//! let log = dir.path().join("app.log");
//! let (handler, guard) = NonBlockingConcurrentHandler::builder(&log).build()?;
//! let subscriber = tracing_subscriber::registry().with(ConcurrentLogLayer::new(handler));
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("request", id = 7);
//!     let _entered = span.enter();
//!     tracing::info!(user = "ann", "logged in");
//! });
//! drop(guard); // drains and stops the writer
//!
//! let text = std::fs::read_to_string(&log)?;
//! assert!(text.contains(" INFO "), "{text}");
//! assert!(text.contains(" request{id=7}: "), "{text}");
//! assert!(text.ends_with(": logged in user=ann\n"), "{text}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Keeping `tracing_subscriber::fmt()` and its format, swapping only the writer:
//!
//! ```
//! use concurrent_log_handler::NonBlockingConcurrentHandler;
//!
//! let dir = tempfile::tempdir()?;
//! let log = dir.path().join("app.log");
//! let (handler, guard) = NonBlockingConcurrentHandler::builder(&log).build()?;
//! let subscriber = tracing_subscriber::fmt()
//!     .with_writer(handler.clone())
//!     .with_ansi(false)
//!     .finish();
//! tracing::subscriber::with_default(subscriber, || tracing::warn!(disk = 91, "almost full"));
//! drop(guard);
//!
//! let text = std::fs::read_to_string(&log)?;
//! assert!(text.contains("WARN") && text.contains("almost full disk=91"), "{text}");
//! assert_eq!(handler.stats().written, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io;

use ::tracing::field::{Field, Visit};
use ::tracing::span::{Attributes, Id, Record as SpanValues};
use ::tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::QueuedHandler;
use crate::record::{Level, Record, Value};
use crate::report::SELF_TARGET;
use crate::{AsyncConcurrentHandler, NonBlockingConcurrentHandler};

/// A [`Layer`] that logs every event it sees through a handler.
///
/// Each event becomes a [`Record`] in the caller's thread: its level (`TRACE`
/// → [`Level::Trace`] … `ERROR` → [`Level::Error`]), target, message (the
/// `message` field), its other fields, and the fields of the spans it happened
/// in, outermost first (recorded when a span is created or `record`ed, kept in
/// the span's extensions like the fmt layer does). The record then goes through
/// the handler's `emit`: queued, or written before the call returns when its
/// level is at or above the handler's `sync_level`.
///
/// Filter with the usual layer filters (`.with_filter(LevelFilter::INFO)`).
/// While the subscriber holds this layer, the handlers' own error reports
/// go on stderr, once each, rather than through `tracing`: they cannot go
/// into the handler that failed, and the subscriber's other layers would
/// show them a second time. (A report that still reaches the layer, behind
/// a `reload` layer that hides it, is written on stderr too.)
#[derive(Debug, Clone)]
pub struct ConcurrentLogLayer<H> {
    handler: H,
}

impl<H: QueuedHandler> ConcurrentLogLayer<H> {
    /// A layer logging into `handler` ([`AsyncConcurrentHandler`] or
    /// [`NonBlockingConcurrentHandler`]).
    pub fn new(handler: H) -> Self {
        ConcurrentLogLayer { handler }
    }

    /// The handler this layer logs into.
    pub fn handler(&self) -> &H {
        &self.handler
    }
}

/// The fields of one span, kept in its extensions.
#[derive(Debug, Default)]
struct SpanFields(Vec<(&'static str, Value)>);

impl SpanFields {
    fn set(&mut self, key: &'static str, value: Value) {
        // `span.record(..)` replaces a value rather than adding a second one.
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => *old = value,
            None => self.0.push((key, value)),
        }
    }
}

/// Whatever collects a `tracing` field's typed value.
trait Collect {
    fn collect(&mut self, field: &Field, value: Value);

    /// A value `tracing` has only as `Debug` (the message among them).
    fn collect_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.collect(field, Value::debug(value));
    }
}

impl Collect for SpanFields {
    fn collect(&mut self, field: &Field, value: Value) {
        self.set(field.name(), value);
    }
}

/// `tracing`'s typed visits, kept typed.
macro_rules! typed_visits {
    ($ty:ty) => {
        impl Visit for $ty {
            fn record_i64(&mut self, field: &Field, value: i64) {
                self.collect(field, Value::I64(value));
            }

            fn record_u64(&mut self, field: &Field, value: u64) {
                self.collect(field, Value::U64(value));
            }

            fn record_f64(&mut self, field: &Field, value: f64) {
                self.collect(field, Value::F64(value));
            }

            fn record_bool(&mut self, field: &Field, value: bool) {
                self.collect(field, Value::Bool(value));
            }

            fn record_str(&mut self, field: &Field, value: &str) {
                self.collect(field, Value::from(value.to_owned()));
            }

            fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
                self.collect(field, Value::display(value));
            }

            fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
                self.collect_debug(field, value);
            }
        }
    };
}
typed_visits!(SpanFields);
typed_visits!(EventFields<'_>);

/// The fields this layer recorded for a span (none if another layer made it).
fn span_fields(
    extensions: &tracing_subscriber::registry::Extensions<'_>,
) -> Vec<(Cow<'static, str>, Value)> {
    extensions
        .get::<SpanFields>()
        .map(|fields| {
            fields
                .0
                .iter()
                .map(|(key, value)| (Cow::Borrowed(*key), value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// `record` with the spans the current `tracing` span sits in (outermost
/// first, with the fields a [`ConcurrentLogLayer`] recorded for them), so
/// that a record sent with `emit_wait` from a request's span keeps its
/// context, as an event through the layer would.
///
/// Without a registry-based subscriber, or outside any span, the record is
/// returned as it was.
///
/// ```
/// use concurrent_log_handler::integrations::tracing::{ConcurrentLogLayer, with_current_span};
/// use concurrent_log_handler::{Level, NonBlockingConcurrentHandler, Record};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let dir = tempfile::tempdir()?;
/// let (handler, guard) = NonBlockingConcurrentHandler::builder(dir.path().join("app.log")).build()?;
/// let subscriber = tracing_subscriber::registry().with(ConcurrentLogLayer::new(handler.clone()));
/// tracing::subscriber::with_default(subscriber, || {
///     let _request = tracing::info_span!("request", req_id = 7).entered();
///     let audit = with_current_span(Record::new(Level::Critical, "audit: order paid"));
///     handler.emit_wait(audit).expect("on disk");
/// });
/// drop(guard);
/// let text = std::fs::read_to_string(dir.path().join("app.log"))?;
/// assert!(text.contains("request{req_id=7}: audit: order paid"), "{text}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn with_current_span(mut record: Record) -> Record {
    let Some(id) = ::tracing::Span::current().id() else {
        return record;
    };
    ::tracing::dispatcher::get_default(|dispatch| {
        let Some(registry) = dispatch.downcast_ref::<tracing_subscriber::Registry>() else {
            return;
        };
        let Some(span) = registry.span(&id) else {
            return;
        };
        for span in span.scope().from_root() {
            record.push_span(span.name(), span_fields(&span.extensions()));
        }
    });
    record
}

/// Visits an event straight into its record: the message, and the other
/// fields in the order they were given.
struct EventFields<'a> {
    record: &'a mut Record,
    message_seen: bool,
}

impl EventFields<'_> {
    /// Whether `field` is the event's message (its first `message` field).
    fn is_message(&mut self, field: &Field) -> bool {
        let first = field.name() == "message" && !self.message_seen;
        self.message_seen |= first;
        first
    }
}

impl Collect for EventFields<'_> {
    fn collect(&mut self, field: &Field, value: Value) {
        if self.is_message(field) {
            self.record.write_message(|message| match &value {
                Value::Str(text) => message.push_str(text),
                other => {
                    let _ = write!(message, "{other}");
                }
            });
        } else {
            self.record.push_field(field.name(), value);
        }
    }

    fn collect_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.is_message(field) {
            // The message arrives as `fmt::Arguments`, whose Debug is its
            // Display; it is written into a recycled buffer.
            self.record.write_message(|message| {
                let _ = write!(message, "{value:?}");
            });
        } else {
            self.record.push_field(field.name(), Value::debug(value));
        }
    }
}

/// Our level for a `tracing` level; `tracing` has nothing above `ERROR`.
pub(crate) fn level_of(level: &::tracing::Level) -> Level {
    match *level {
        ::tracing::Level::TRACE => Level::Trace,
        ::tracing::Level::DEBUG => Level::Debug,
        ::tracing::Level::INFO => Level::Info,
        ::tracing::Level::WARN => Level::Warn,
        _ => Level::Error,
    }
}

impl<S, H> Layer<S> for ConcurrentLogLayer<H>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    H: QueuedHandler,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &SpanValues<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(fields) => values.record(fields),
            None => {
                let mut fields = SpanFields::default();
                values.record(&mut fields);
                extensions.insert(fields);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if meta.target() != SELF_TARGET
            && !self.handler.passes(meta.target(), level_of(meta.level()))
        {
            return; // the handler's own filter: nothing to visit or format
        }
        let mut record = Record::new(level_of(meta.level()), "").with_target(meta.target());
        event.record(&mut EventFields {
            record: &mut record,
            message_seen: false,
        });
        if meta.target() == SELF_TARGET {
            // The handler's own report of a write error cannot go into the
            // handler that failed: stderr, where it is seen.
            let mut line = format!("{SELF_TARGET}: {}", record.message());
            for (key, value) in record.fields() {
                line.push_str(&format!(" {key}={value}"));
            }
            crate::report::to_stderr(&line);
            return;
        }
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                record.push_span(span.name(), span_fields(&span.extensions()));
            }
        }
        self.handler.emit_record(record);
    }
}

/// Whether the subscriber of `dispatch` logs into one of this crate's
/// handlers, through a [`ConcurrentLogLayer`] or a handler as `fmt`'s writer
/// (found wherever they sit in a stack of layers, filtered or not).
pub(crate) fn logs_into_a_handler(dispatch: &::tracing::Dispatch) -> bool {
    dispatch
        .downcast_ref::<ConcurrentLogLayer<AsyncConcurrentHandler>>()
        .is_some()
        || dispatch
            .downcast_ref::<ConcurrentLogLayer<NonBlockingConcurrentHandler>>()
            .is_some()
        || dispatch.downcast_ref::<AsyncConcurrentHandler>().is_some()
        || dispatch
            .downcast_ref::<NonBlockingConcurrentHandler>()
            .is_some()
}

/// The [`io::Write`] that [`MakeWriter`] hands out for each event: it collects
/// what the fmt layer writes and logs it as one record when flushed or dropped
/// (the fmt layer writes each event's line in one call, then drops the writer).
///
/// The level comes from the event's metadata, so `sync_level` applies as with
/// [`Record`]s; a writer made without metadata ([`MakeWriter::make_writer`])
/// logs at [`Level::Info`].
///
/// The line is written as the fmt layer made it, with two exceptions, so
/// that an event stays one line and cannot forge another: a raw line break
/// inside it (fmt writes those in messages as they are; `\n`, `\r`, VT,
/// FF, FS, GS, RS, NEL, U+2028, U+2029) is written as its JSON escape
/// (`\n`, `\r`, `\u000b`, …, `\u2028`), and bytes that are not UTF-8
/// become U+FFFD. Nothing else is touched: without line breaks the line is
/// byte for byte what fmt writes into a file (`tracing-appender`'s), and a
/// `fmt().json()` line still parses as JSON, with the original text.
#[derive(Debug)]
pub struct EventWriter<'a, H: QueuedHandler> {
    handler: &'a H,
    level: Level,
    /// The handler's own error reports are not logged into it, but on stderr.
    to_stderr: bool,
    /// The handler's filter refuses this event: nothing is sent.
    refused: bool,
    buf: Vec<u8>,
}

impl<H: QueuedHandler> EventWriter<'_, H> {
    fn send(&mut self) {
        let mut line = std::mem::take(&mut self.buf);
        if line.is_empty() || self.refused {
            return;
        }
        if self.to_stderr {
            crate::report::to_stderr(&String::from_utf8_lossy(&line));
            return;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        // The fmt layer writes line breaks inside messages as they are, and
        // a layer of the user's may write any bytes: one valid UTF-8 line,
        // with fmt's own text (and escapes) untouched.
        let mut line = crate::format::one_line(line);
        line.push(b'\n');
        self.handler.emit_formatted(self.level, line);
    }
}

impl<H: QueuedHandler> io::Write for EventWriter<'_, H> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.refused {
            return Ok(buf.len());
        }
        if self.buf.capacity() == 0 {
            // A recycled line buffer: no allocation here, and no free of it
            // in the writer thread.
            self.buf = crate::buffers::take(buf.len() + 1);
        }
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send();
        Ok(())
    }
}

impl<H: QueuedHandler> Drop for EventWriter<'_, H> {
    fn drop(&mut self) {
        self.send();
    }
}

fn writer_for<'a, H: QueuedHandler>(
    handler: &'a H,
    meta: Option<&Metadata<'_>>,
) -> EventWriter<'a, H> {
    let level = meta.map_or(Level::Info, |m| level_of(m.level()));
    let target = meta.map_or("", |m| m.target());
    EventWriter {
        handler,
        level,
        to_stderr: target == SELF_TARGET,
        refused: target != SELF_TARGET && !handler.passes(target, level),
        buf: Vec::new(),
    }
}

/// A timer for `tracing_subscriber::fmt()` that writes the crate's own
/// timestamp (`2026-11-23T10:34:21.123+01:00`, or `…Z` in UTC), rendering
/// each second once per thread and only the milliseconds after that. fmt's
/// default timer renders the whole date and time for every event, which is
/// about a fifth of what `fmt().with_writer(handler)` costs per event.
///
/// ```
/// use concurrent_log_handler::integrations::tracing::CachedTimer;
/// use concurrent_log_handler::NonBlockingConcurrentHandler;
///
/// let dir = tempfile::tempdir()?;
/// let log = dir.path().join("app.log");
/// let (handler, guard) = NonBlockingConcurrentHandler::builder(&log).build()?;
/// let subscriber = tracing_subscriber::fmt()
///     .with_timer(CachedTimer::utc())
///     .with_writer(handler)
///     .with_ansi(false)
///     .finish();
/// tracing::subscriber::with_default(subscriber, || tracing::info!("started"));
/// drop(guard);
///
/// let text = std::fs::read_to_string(&log)?;
/// let (time, rest) = text.split_once(' ').unwrap();
/// assert!(time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T', "{text}");
/// assert!(rest.contains("INFO") && rest.ends_with("started\n"), "{text}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CachedTimer {
    utc: bool,
}

impl CachedTimer {
    /// Local time with its UTC offset, as the crate's formatters write it.
    pub fn local() -> CachedTimer {
        CachedTimer { utc: false }
    }

    /// UTC, ending in `Z`.
    pub fn utc() -> CachedTimer {
        CachedTimer { utc: true }
    }
}

thread_local! {
    static TIMER_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl tracing_subscriber::fmt::time::FormatTime for CachedTimer {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> fmt::Result {
        let write = |out: &mut Vec<u8>| {
            out.clear();
            crate::format::write_timestamp(std::time::SystemTime::now(), self.utc, out);
        };
        let written = TIMER_SCRATCH.try_with(|scratch| {
            let mut scratch = scratch.try_borrow_mut().ok()?;
            write(&mut scratch);
            Some(w.write_str(std::str::from_utf8(&scratch).unwrap_or_default()))
        });
        match written {
            Ok(Some(result)) => result,
            // Re-entered, or after the thread's scratch was destroyed.
            _ => {
                let mut out = Vec::with_capacity(32);
                write(&mut out);
                w.write_str(std::str::from_utf8(&out).unwrap_or_default())
            }
        }
    }
}

/// `tracing_subscriber::fmt().with_writer(handler.clone())`: each event's line
/// becomes one record of the handler (see [`EventWriter`]).
impl<'a> MakeWriter<'a> for AsyncConcurrentHandler {
    type Writer = EventWriter<'a, AsyncConcurrentHandler>;

    fn make_writer(&'a self) -> Self::Writer {
        writer_for(self, None)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        writer_for(self, Some(meta))
    }
}

/// `tracing_subscriber::fmt().with_writer(handler.clone())`: each event's line
/// becomes one record of the handler (see [`EventWriter`]).
impl<'a> MakeWriter<'a> for NonBlockingConcurrentHandler {
    type Writer = EventWriter<'a, NonBlockingConcurrentHandler>;

    fn make_writer(&'a self) -> Self::Writer {
        writer_for(self, None)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        writer_for(self, Some(meta))
    }
}
