//! What one log event is: a [`Level`] and an owned, `Send` [`Record`] whose
//! fields hold typed [`Value`]s.
//!
//! This module knows nothing of files or queues. A record is built in the
//! caller's thread, formatted there (see [`crate::format`]), and only its bytes
//! travel further.
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
use std::time::SystemTime;

use crate::fork::current_pid;

/// One log event: level, target, message, key-value fields, timestamp and pid.
///
/// The record is owned and `Send`. [`Record::new`] fills in the timestamp and the
/// process id; a `&'static str` message or target costs no allocation.
#[derive(Debug, Clone)]
pub struct Record {
    level: Level,
    target: Cow<'static, str>,
    message: Cow<'static, str>,
    fields: Vec<(Cow<'static, str>, Value)>,
    spans: Vec<SpanContext>,
    timestamp: SystemTime,
    pid: u32,
}

impl Record {
    /// A record at `level` with `message`, stamped with the current time and this
    /// process's id. The target is empty until [`with_target`](Self::with_target).
    pub fn new(level: Level, message: impl Into<Cow<'static, str>>) -> Self {
        Record {
            level,
            target: Cow::Borrowed(""),
            message: message.into(),
            fields: Vec::new(),
            spans: Vec::new(),
            timestamp: SystemTime::now(),
            pid: current_pid(),
        }
    }

    /// Sets the target (conventionally the module path, e.g. `app::db`).
    #[must_use]
    pub fn with_target(mut self, target: impl Into<Cow<'static, str>>) -> Self {
        self.target = target.into();
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
        self.fields.push((key.into(), value.into()));
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
        self.spans.push(SpanContext {
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
        self.fields.push((key.into(), value));
    }

    /// [`with_span`](Self::with_span) in place.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn push_span(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        fields: Vec<(Cow<'static, str>, Value)>,
    ) {
        self.spans.push(SpanContext {
            name: name.into(),
            fields,
        });
    }

    /// Overrides the timestamp (for replaying events or for tests).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: SystemTime) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The record's level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The record's target; empty when none was set.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The record's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The record's fields, `(key, value)`, in the order they were added.
    pub fn fields(&self) -> Fields<'_> {
        Fields(self.fields.iter())
    }

    /// The spans the event happened in, outermost first.
    pub fn spans(&self) -> Spans<'_> {
        Spans(self.spans.iter())
    }

    /// The fields of every span, outermost first, as one list (formats that
    /// have no place for span names use it).
    pub fn span_fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.spans
            .iter()
            .flat_map(|span| Fields(span.fields.iter()))
    }

    /// When the record was created.
    pub fn timestamp(&self) -> SystemTime {
        self.timestamp
    }

    /// The id of the process that created the record.
    pub fn pid(&self) -> u32 {
        self.pid
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
