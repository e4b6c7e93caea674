//! What one log event is: a [`Level`] and an owned, `Send` [`Record`] whose
//! fields hold typed [`Value`]s.
//!
//! This module knows nothing of files or queues. A record is built in the
//! caller's thread and travels to the writer as it is, or as the bytes its
//! caller formatted (see [`crate::format`]). Its body is recycled once it
//! was written (see [`crate::pool`]).
//!
//! ```
//! use concurrent_log_handler::{Level, Record, Value};
//!
//! let record = Record::new(Level::Info, "user logged in")
//!     .with_target("app::auth")
//!     .with_field("user", 42);
//! assert_eq!(record.level(), Level::Info);
//! assert_eq!(record.message(), "user logged in");
//! assert_eq!(record.fields().next(), Some(("user", &Value::I64(42))));
//! assert_eq!(record.pid(), std::process::id());
//! ```

mod level;
mod value;

pub use level::{Level, ParseLevelError};
pub use value::Value;

use std::borrow::Cow;
use std::mem::ManuallyDrop;
use std::time::SystemTime;

use crate::fork::current_pid;
use crate::pool::{Cache, Pool};

/// One log event: level, target, message, key-value fields, timestamp and pid.
///
/// The record is owned and `Send`. [`Record::new`] fills in the timestamp and the
/// process id; a `&'static str` message or target costs no allocation. A
/// record is one pointer wide, so handing it to a queue moves eight bytes;
/// its body is recycled once it was written, so in steady state building
/// one allocates nothing (beyond owned strings you give it).
#[derive(Clone)]
pub struct Record {
    /// Always a live body; taken out only in `drop`.
    body: ManuallyDrop<Box<Body>>,
}

/// What a [`Record`] holds.
#[derive(Clone)]
struct Body {
    level: Level,
    target: Cow<'static, str>,
    message: Cow<'static, str>,
    fields: Vec<(Cow<'static, str>, Value)>,
    spans: Vec<SpanContext>,
    timestamp: SystemTime,
    pid: u32,
    /// The buffer of an owned message of an earlier record, kept for the
    /// next message written in place ([`Record::write_message`]).
    spare: String,
}

/// Bodies of records that were written, for new records to reuse (see
/// [`crate::pool`]): their field lists keep their capacity.
static BODIES: Pool<Box<Body>> = Pool::new(&BODY_CACHE, BODY_POOL_LIMIT);
/// Most recycled bodies the shared pool keeps (~100 bytes each, plus their
/// field lists).
const BODY_POOL_LIMIT: usize = 8192;
/// A body whose field list grew beyond this is freed rather than kept.
const KEEP_FIELDS: usize = 16;
/// A body whose span list grew beyond this is freed rather than kept.
const KEEP_SPANS: usize = 8;
/// An owned message buffer larger than this is freed rather than kept.
const KEEP_MESSAGE: usize = 1024;

thread_local! {
    static BODY_CACHE: Cache<Box<Body>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Drop for Record {
    fn drop(&mut self) {
        // SAFETY: `body` is never used again: this is the record's drop, and
        // nothing else ever takes the body out.
        let mut body = unsafe { ManuallyDrop::take(&mut self.body) };
        if body.fields.capacity() > KEEP_FIELDS || body.spans.capacity() > KEEP_SPANS {
            return; // freed
        }
        body.fields.clear();
        body.spans.clear();
        body.target = Cow::Borrowed("");
        if let Cow::Owned(mut message) = std::mem::take(&mut body.message)
            && message.capacity() <= KEEP_MESSAGE
        {
            message.clear();
            body.spare = message;
        }
        BODIES.give(body);
    }
}

impl Body {
    const EMPTY: Body = Body {
        level: Level::Info,
        target: Cow::Borrowed(""),
        message: Cow::Borrowed(""),
        fields: Vec::new(),
        spans: Vec::new(),
        timestamp: SystemTime::UNIX_EPOCH,
        pid: 0,
        spare: String::new(),
    };
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = &*self.body;
        f.debug_struct("Record")
            .field("level", &body.level)
            .field("target", &body.target)
            .field("message", &body.message)
            .field("fields", &body.fields)
            .field("spans", &body.spans)
            .field("timestamp", &body.timestamp)
            .field("pid", &body.pid)
            .finish()
    }
}

impl Record {
    /// A record at `level` with `message`, stamped with the current time and this
    /// process's id. The target is empty until [`with_target`](Self::with_target).
    pub fn new(level: Level, message: impl Into<Cow<'static, str>>) -> Self {
        // A recycled body comes with an empty target, no fields and no spans.
        let mut body = BODIES.take().unwrap_or_else(|| Box::new(Body::EMPTY));
        body.level = level;
        body.message = message.into();
        body.timestamp = SystemTime::now();
        body.pid = current_pid();
        Record {
            body: ManuallyDrop::new(body),
        }
    }

    /// Sets the target (conventionally the module path, e.g. `app::db`).
    #[must_use]
    pub fn with_target(mut self, target: impl Into<Cow<'static, str>>) -> Self {
        self.body.target = target.into();
        self
    }

    /// Appends a `key=value` field. Numbers, booleans and strings keep
    /// their type (the JSON format writes `42`, not `"42"`); a number or a
    /// `&'static str` costs no allocation. Anything else goes through
    /// [`Value::display`] or [`Value::debug`].
    ///
    /// ```
    /// use concurrent_log_handler::{Level, Record, Value};
    ///
    /// let addr: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    /// let record = Record::new(Level::Info, "login")
    ///     .with_field("user", 42)
    ///     .with_field("admin", false)
    ///     .with_field("from", Value::display(addr));
    /// let fields: Vec<_> = record.fields().collect();
    /// assert_eq!(fields[0], ("user", &Value::I64(42)));
    /// assert_eq!(fields[2].1.to_string(), "10.0.0.1");
    /// ```
    #[must_use]
    pub fn with_field(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Value>,
    ) -> Self {
        self.body.fields.push((key.into(), value.into()));
        self
    }

    /// Appends a span the event happened in (a `tracing` span, a request,
    /// a job), with its fields; spans are added outermost first. Formatters
    /// keep them apart from the event's own [`fields`](Self::fields): the
    /// text format writes `request{id=7}:db{table=orders}: message` as
    /// `tracing_subscriber::fmt()` does, the JSON format a `"spans"` array.
    ///
    /// ```
    /// use concurrent_log_handler::{Level, Record, Value};
    ///
    /// let record = Record::new(Level::Info, "paid")
    ///     .with_span("request", [("id", Value::from(7))]);
    /// let span = record.spans().next().unwrap();
    /// assert_eq!(span.name(), "request");
    /// assert_eq!(span.fields().next(), Some(("id", &Value::I64(7))));
    /// ```
    #[must_use]
    pub fn with_span<K, V>(
        mut self,
        name: impl Into<Cow<'static, str>>,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: Into<Cow<'static, str>>,
        V: Into<Value>,
    {
        self.body.spans.push(SpanContext {
            name: name.into(),
            fields: fields
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        });
        self
    }

    /// [`with_field`](Self::with_field) on a record being built in place
    /// (the integrations collect fields one by one).
    #[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
    pub(crate) fn push_field(&mut self, key: impl Into<Cow<'static, str>>, value: Value) {
        self.body.fields.push((key.into(), value));
    }

    /// Sets the message to what `write` writes, into a buffer an earlier
    /// record's owned message left behind. Bindings and integrations that
    /// render messages themselves use it: once the writer has handed
    /// buffers back, a record costs no allocation, and no buffer made in a
    /// caller's thread is freed in the writer's (which glibc's allocator
    /// pays for with a lock both threads take).
    ///
    /// ```
    /// use concurrent_log_handler::{Level, Record};
    ///
    /// let mut record = Record::new(Level::Info, "");
    /// record.write_message(|message| {
    ///     message.push_str("user ");
    ///     message.push_str("42 logged in");
    /// });
    /// assert_eq!(record.message(), "user 42 logged in");
    /// ```
    pub fn write_message(&mut self, write: impl FnOnce(&mut String)) {
        let body = &mut *self.body;
        let mut message = std::mem::take(&mut body.spare);
        message.clear();
        write(&mut message);
        body.message = Cow::Owned(message);
    }

    /// [`with_span`](Self::with_span) in place.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn push_span(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        fields: Vec<(Cow<'static, str>, Value)>,
    ) {
        self.body.spans.push(SpanContext {
            name: name.into(),
            fields,
        });
    }

    /// Overrides the timestamp (for replaying events or for tests).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: SystemTime) -> Self {
        self.body.timestamp = timestamp;
        self
    }

    /// The record's level.
    pub fn level(&self) -> Level {
        self.body.level
    }

    /// The record's target; empty when none was set.
    pub fn target(&self) -> &str {
        &self.body.target
    }

    /// The record's message.
    pub fn message(&self) -> &str {
        &self.body.message
    }

    /// The record's fields, `(key, value)`, in the order they were added.
    pub fn fields(&self) -> Fields<'_> {
        Fields(self.body.fields.iter())
    }

    /// The spans the event happened in, outermost first.
    pub fn spans(&self) -> Spans<'_> {
        Spans(self.body.spans.iter())
    }

    /// The fields of every span, outermost first, as one list (formats that
    /// have no place for span names use it).
    pub fn span_fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.body
            .spans
            .iter()
            .flat_map(|span| Fields(span.fields.iter()))
    }

    /// When the record was created.
    pub fn timestamp(&self) -> SystemTime {
        self.body.timestamp
    }

    /// The id of the process that created the record.
    pub fn pid(&self) -> u32 {
        self.body.pid
    }
}

/// The fields of a [`Record`], as `(key, value)` pairs in the order they
/// were added; see [`Record::fields`].
#[derive(Debug, Clone)]
pub struct Fields<'a>(std::slice::Iter<'a, (Cow<'static, str>, Value)>);

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(key, value)| (&**key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Fields<'_> {}

impl DoubleEndedIterator for Fields<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(key, value)| (&**key, value))
    }
}

/// One span of a [`Record`]: its name and fields.
#[derive(Debug, Clone)]
struct SpanContext {
    name: Cow<'static, str>,
    fields: Vec<(Cow<'static, str>, Value)>,
}

/// The spans of a [`Record`], outermost first; see [`Record::spans`].
#[derive(Debug, Clone)]
pub struct Spans<'a>(std::slice::Iter<'a, SpanContext>);

impl<'a> Iterator for Spans<'a> {
    type Item = Span<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(Span)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Spans<'_> {}

/// One span of a [`Record`]: see [`Record::spans`].
#[derive(Debug, Clone, Copy)]
pub struct Span<'a>(&'a SpanContext);

impl<'a> Span<'a> {
    /// The span's name.
    pub fn name(&self) -> &'a str {
        &self.0.name
    }

    /// The span's fields, in the order they were recorded.
    pub fn fields(&self) -> Fields<'a> {
        Fields(self.0.fields.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_body_carries_nothing_of_the_record_before() {
        let old = Record::new(Level::Error, String::from("old message"))
            .with_target(String::from("old::target"))
            .with_field("owned", String::from("text"))
            .with_span("request", [("id", 7)]);
        let copy = old.clone();
        let body: *const Body = &**old.body;
        drop(old);
        // This thread's cache hands the body just dropped to the next record.
        let new = Record::new(Level::Info, "new");
        assert!(std::ptr::eq(body, &**new.body), "the body was reused");
        assert_eq!(new.level(), Level::Info);
        assert_eq!(new.message(), "new");
        assert_eq!(new.target(), "");
        assert_eq!(new.fields().count(), 0);
        assert_eq!(new.spans().count(), 0);
        // The clone has a body of its own, untouched by the recycling.
        assert_eq!(copy.message(), "old message");
        assert_eq!(copy.target(), "old::target");
        assert_eq!(copy.fields().next(), Some(("owned", &Value::from("text"))));
        assert_eq!(copy.spans().next().map(|s| s.name()), Some("request"));
    }

    #[test]
    fn a_message_written_in_place_reuses_an_earlier_buffer_and_only_its_own_text() {
        let mut first = Record::new(Level::Info, "");
        first.write_message(|m| m.push_str("a long first message, written in place"));
        let buffer = first.message().as_ptr();
        drop(first);
        let mut second = Record::new(Level::Info, "");
        second.write_message(|m| m.push_str("short"));
        assert_eq!(second.message(), "short");
        assert_eq!(second.message().as_ptr(), buffer, "the buffer was reused");
    }

    #[test]
    fn records_built_on_some_threads_and_dropped_on_another_keep_their_own_fields() {
        let (to_writer, from_callers) = std::sync::mpsc::sync_channel::<Record>(64);
        let writer = std::thread::spawn(move || {
            let mut seen = 0u64;
            for record in from_callers {
                let n = record.fields().next().and_then(|(_, v)| v.as_u64());
                let expected = format!("message {}", n.expect("its number"));
                assert_eq!(record.message(), expected);
                assert_eq!(record.fields().count(), 2);
                seen += 1;
            }
            seen
        });
        let callers: Vec<_> = (0..4u64)
            .map(|caller| {
                let to_writer = to_writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000u64 {
                        let n = caller * 5_000 + i;
                        let record = Record::new(Level::Info, format!("message {n}"))
                            .with_field("n", n)
                            .with_field("caller", caller);
                        to_writer.send(record).expect("writer");
                    }
                })
            })
            .collect();
        drop(to_writer);
        for caller in callers {
            caller.join().expect("caller");
        }
        assert_eq!(writer.join().expect("writer"), 20_000);
    }
}
