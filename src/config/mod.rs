//! Handler settings read from TOML or JSON, with the option names Python
//! `concurrent-log-handler` users know.
//!
//! ```
//! use concurrent_log_handler::config::HandlerConfig;
//! use concurrent_log_handler::{Level, Record};
//!
//! let dir = tempfile::tempdir()?;
//! let log = dir.path().join("app.log");
//! let toml = format!(
//!     r#"
//!     filename = "{}"
//!     maxBytes = 10485760      # Python's name; max_bytes works too
//!     backupCount = 5
//!     sync_level = "error"
//!     format = "json"
//!     utc = true
//!     "#,
//!     log.display()
//! );
//! let config = HandlerConfig::from_toml_str(&toml)?;
//! assert_eq!(config.filename(), log);
//!
//! let (handler, guard) = config.build_nonblocking()?;
//! handler.emit(Record::new(Level::Error, "written before emit returns"));
//! drop(guard);
//! let line: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&log)?)?;
//! assert_eq!(line["level"], "ERROR");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

mod names;
#[cfg(feature = "syslog")]
mod syslog;

#[cfg(feature = "syslog")]
use syslog::SyslogSection;

use crate::builder::Builder;
use crate::error::{Error, Result};
use crate::format::{JsonFormatter, TextFormatter};
use crate::record::Level;
use crate::{
    AsyncConcurrentHandler, AsyncConcurrentHandlerBuilder, Compression, FallbackMode, Filter,
    NonBlockingConcurrentHandler, NonBlockingConcurrentHandlerBuilder, Rotation, Weekday,
    WriterGuard,
};

/// The settings of a handler, as read from a TOML or JSON file.
///
/// | option | Python CLH name | default |
/// |---|---|---|
/// | `filename` (required) | `filename` | |
/// | `max_bytes` | `maxBytes` | 0 (never rotate) |
/// | `backup_count` | `backupCount` | 5 |
/// | `use_gzip` | `use_gzip` | `false`; `true` compresses backups with gzip |
/// | `compression` | | `"none"`, `"gzip"` or `"zstd"` |
/// | `when` | `when` (timed handler) | no time rotation; `"S"`, `"M"`, `"H"`, `"D"` (every `interval` units after the last rollover), `"MIDNIGHT"` (every `interval` days at midnight), `"W0"`–`"W6"` (Monday–Sunday) |
/// | `interval` | `interval` | 1 |
/// | `max_age_seconds` | | no age limit |
/// | `lock_file_directory` | `lock_file_directory` | beside the log |
/// | `file_mode` | `chmod` | `0o644` |
/// | `create_dirs` | | `true` |
/// | `durable` | | `false` |
/// | `queue_capacity` | | 10,000 |
/// | `fallback_mode` | | `"drop"` (async); thread handler: `"block"` |
/// | `sync_level` | | `"critical"` (async), `"error"` (thread); `"none"` queues all |
/// | `level` | `level` | every record; `"debug"`, `"info"`, `"warning"`, `"error"`, `"critical"` (any case): log only records at that level or above |
/// | `filter` | | every record; `env_logger`-style directives, `"info,app::db=debug"` (see [`Filter`]); not with `level` |
/// | `utc` | `utc` | `false`: timestamps and time rotation in local time |
/// | `format` | | `"text"` (or `"json"`) |
/// | `syslog` | | none; a table forwarding to a collector: `url` (required), `facility`, `app_name`, `hostname`, `msgid`, `enterprise_id`, `confirmation` (`"local_file"`, `"collector"`, `"both"`), `ca_file`, `client_cert` + `client_key`, `server_name`, `buffer_capacity`, `when_full` (`"drop"` or `{ wait_ms = 50 }`), `relp_window`, `max_message_size`, `confirm_timeout_seconds` (feature `syslog`) |
///
/// A period, whether `max_age_seconds`, syslog `confirm_timeout_seconds` and
/// `when_full = { wait_ms }`, or `interval` times the unit of `when`, is at
/// most 100 years (3,155,760,000 seconds); a longer one is refused, naming
/// its option.
///
/// Unknown options are refused with an [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) naming them,
/// so a typo or a Python-only option (`delay`, `encoding`, …) does not pass
/// silently; a near miss gets a suggestion ("did you mean `backupCount`?").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HandlerConfig {
    /// The log file.
    pub(crate) filename: PathBuf,
    /// Rotate before the file would pass this many bytes; 0 never rotates.
    #[serde(default, alias = "maxBytes")]
    pub(crate) max_bytes: u64,
    /// How many rotated files to keep.
    #[serde(default = "default_backup_count", alias = "backupCount")]
    pub(crate) backup_count: usize,
    /// Python CLH's gzip of rotated files.
    #[serde(default)]
    pub(crate) use_gzip: bool,
    /// `"none"`, `"gzip"` or `"zstd"`; `use_gzip = true` means `"gzip"`.
    #[serde(default)]
    pub(crate) compression: Option<String>,
    /// Python's timed-rotation `when`: `S`, `M`, `H`, `D`, `MIDNIGHT`, `W0`–`W6`.
    #[serde(default)]
    pub(crate) when: Option<String>,
    /// Python's `interval`: how many `when` units between rollovers.
    #[serde(default)]
    pub(crate) interval: Option<u64>,
    /// Delete backups last written longer ago than this many seconds.
    #[serde(default)]
    pub(crate) max_age_seconds: Option<u64>,
    /// Where the lock file lives; beside the log when absent.
    #[serde(default)]
    pub(crate) lock_file_directory: Option<PathBuf>,
    /// Mode of created files, before the umask (Python CLH's `chmod`).
    #[serde(default, alias = "chmod")]
    pub(crate) file_mode: Option<u32>,
    /// Create missing directories of the log and lock file.
    #[serde(default)]
    pub(crate) create_dirs: Option<bool>,
    /// `fsync` after each batch.
    #[serde(default)]
    pub(crate) durable: bool,
    /// Records the queue holds.
    #[serde(default)]
    pub(crate) queue_capacity: Option<usize>,
    /// What happens to a record when the queue is full.
    #[serde(default)]
    pub(crate) fallback_mode: Option<FallbackMode>,
    /// Python CLH's name for the thread handler's choice: `true` is
    /// `fallback_mode = "block"`, `false` is `"drop"`.
    #[serde(default)]
    pub(crate) fallback_on_full: Option<bool>,
    /// Records at or above this level are written before `emit` returns:
    /// `None` keeps the handler's default, `Some(None)` (`"none"`) queues
    /// every level.
    #[serde(default, deserialize_with = "sync_level")]
    pub(crate) sync_level: Option<Option<Level>>,
    /// Log only records at this level or above (Python's handler `level`).
    #[serde(default)]
    pub(crate) level: Option<Level>,
    /// Log only the records these directives enable.
    #[serde(default, deserialize_with = "filter")]
    pub(crate) filter: Option<Filter>,
    /// Timestamps and time rotation in UTC instead of local time.
    #[serde(default)]
    pub(crate) utc: bool,
    /// The line format.
    #[serde(default)]
    pub(crate) format: LogFormat,
    /// Forwarding to a syslog collector.
    #[cfg(feature = "syslog")]
    #[serde(default)]
    pub(crate) syslog: Option<SyslogSection>,
}

/// The line format a [`HandlerConfig`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogFormat {
    /// [`TextFormatter`].
    #[default]
    Text,
    /// [`JsonFormatter`].
    Json,
}

/// The longest period a config may give, in seconds: 100 years (of 365.25
/// days). No log needs a longer one: in a config file it is a mistake.
const MAX_SECONDS: u64 = 3_155_760_000;

/// The option `key`'s `secs` as a [`Duration`], refused beyond
/// [`MAX_SECONDS`].
fn seconds(key: &str, secs: u64) -> Result<Duration> {
    if secs > MAX_SECONDS {
        return Err(Error::invalid_config(format!(
            "{key} = {secs}: at most {MAX_SECONDS} seconds (100 years)"
        )));
    }
    Ok(Duration::from_secs(secs))
}

/// The option `key`'s `ms` milliseconds as a [`Duration`], refused beyond
/// [`MAX_SECONDS`].
#[cfg(feature = "syslog")]
fn millis(key: &str, ms: u64) -> Result<Duration> {
    if ms > MAX_SECONDS * 1000 {
        return Err(Error::invalid_config(format!(
            "{key} = {ms}: at most {} milliseconds (100 years)",
            MAX_SECONDS * 1000
        )));
    }
    Ok(Duration::from_millis(ms))
}

fn default_backup_count() -> usize {
    crate::DEFAULT_BACKUP_COUNT
}

fn sync_level<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Option<Level>>, D::Error> {
    let text = String::deserialize(de)?;
    if matches!(text.trim().to_ascii_lowercase().as_str(), "none" | "off") {
        return Ok(Some(None));
    }
    text.parse()
        .map(|level| Some(Some(level)))
        .map_err(serde::de::Error::custom)
}

fn filter<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Filter>, D::Error> {
    let text = String::deserialize(de)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// A level from its name, as [`Level::from_str`](std::str::FromStr) reads it.
impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `"drop"`, `"block"` or `"nowait"`.
impl<'de> Deserialize<'de> for FallbackMode {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl HandlerConfig {
    /// Defaults for the log at `filename`.
    pub fn new(filename: impl Into<PathBuf>) -> Self {
        HandlerConfig {
            filename: filename.into(),
            max_bytes: crate::DEFAULT_MAX_BYTES,
            backup_count: crate::DEFAULT_BACKUP_COUNT,
            use_gzip: false,
            compression: None,
            when: None,
            interval: None,
            max_age_seconds: None,
            lock_file_directory: None,
            file_mode: None,
            create_dirs: None,
            durable: false,
            queue_capacity: None,
            fallback_mode: None,
            fallback_on_full: None,
            sync_level: None,
            level: None,
            filter: None,
            utc: false,
            format: LogFormat::Text,
            #[cfg(feature = "syslog")]
            syslog: None,
        }
    }

    /// Reads a TOML document (the keys at its top level).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) with the parser's message (line and column
    /// included), for bad syntax, a wrong type, a missing `filename` or an
    /// unknown option.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::parse_toml(text).map_err(Error::invalid_config)
    }

    fn parse_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| names::toml_failure(&e, text))
    }

    fn parse_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| names::json_failure(&e, text))
    }

    /// Reads a JSON object.
    ///
    /// # Errors
    ///
    /// As [`from_toml_str`](Self::from_toml_str).
    pub fn from_json_str(text: &str) -> Result<Self> {
        Self::parse_json(text).map_err(Error::invalid_config)
    }

    /// Reads a file: JSON when its name ends in `.json`, TOML otherwise.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ReadConfig`](crate::ErrorKind::ReadConfig) with the path
    /// and the OS error when the file cannot be read;
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig), naming
    /// the file ([`Error::path`]), when it cannot be parsed.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(crate::ErrorKind::ReadConfig, path, e))?;
        let parsed = if path.extension().is_some_and(|ext| ext == "json") {
            Self::parse_json(&text)
        } else {
            Self::parse_toml(&text)
        };
        parsed.map_err(|reason| Error::config_file(path, reason))
    }

    /// An [`AsyncConcurrentHandler`] builder with these settings, to adjust
    /// further before `build`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) for an unknown `compression` or `when`.
    pub fn async_builder(&self) -> Result<AsyncConcurrentHandlerBuilder> {
        let mut builder =
            self.with_file_options(AsyncConcurrentHandler::builder(&self.filename))?;
        if let Some(capacity) = self.queue_capacity {
            builder = builder.queue_capacity(capacity);
        }
        if let Some(mode) = self.fallback_mode()? {
            builder = builder.fallback_mode(mode);
        }
        if let Some(level) = self.sync_level {
            builder = builder.sync_level(level);
        }
        Ok(builder)
    }

    /// The log file these settings are for.
    pub fn filename(&self) -> &Path {
        &self.filename
    }

    /// `fallback_mode`, or Python's `fallback_on_full`, which means the same.
    fn fallback_mode(&self) -> Result<Option<FallbackMode>> {
        let python = self.fallback_on_full.map(|block| {
            if block {
                FallbackMode::Block
            } else {
                FallbackMode::Drop
            }
        });
        match (self.fallback_mode, python) {
            (Some(mode), Some(other)) if mode != other => Err(Error::invalid_config(format!(
                "fallback_mode = \"{mode}\" and fallback_on_full = {} contradict each other",
                other == FallbackMode::Block
            ))),
            (mode, python) => Ok(mode.or(python)),
        }
    }

    /// Builds an [`AsyncConcurrentHandler`].
    ///
    /// # Errors
    ///
    /// As [`async_builder`](Self::async_builder) and
    /// [`AsyncConcurrentHandlerBuilder::build`].
    pub fn build_async(&self) -> Result<AsyncConcurrentHandler> {
        self.async_builder()?.build()
    }

    /// A [`NonBlockingConcurrentHandler`] builder with these settings
    /// (`fallback_mode = "nowait"` is refused: it exists only for the async
    /// handler).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) for an
    /// unknown `compression` or `when`, or `fallback_mode = "nowait"`.
    pub fn nonblocking_builder(&self) -> Result<NonBlockingConcurrentHandlerBuilder> {
        let mut builder =
            self.with_file_options(NonBlockingConcurrentHandler::builder(&self.filename))?;
        if let Some(capacity) = self.queue_capacity {
            builder = builder.queue_capacity(capacity);
        }
        match self.fallback_mode()? {
            None => {}
            Some(FallbackMode::Nowait) => {
                return Err(Error::invalid_config(
                    "fallback_mode = \"nowait\" exists only for the async handler; \
                     the thread handler takes \"block\" or \"drop\"",
                ));
            }
            Some(mode) => builder = builder.fallback_mode(mode),
        }
        if let Some(level) = self.sync_level {
            builder = builder.sync_level(level);
        }
        Ok(builder)
    }

    /// Builds a [`NonBlockingConcurrentHandler`] and its [`WriterGuard`].
    ///
    /// # Errors
    ///
    /// As [`nonblocking_builder`](Self::nonblocking_builder) and
    /// [`NonBlockingConcurrentHandlerBuilder::build`].
    pub fn build_nonblocking(&self) -> Result<(NonBlockingConcurrentHandler, WriterGuard)> {
        self.nonblocking_builder()?.build()
    }

    /// `builder` with the options every handler takes: the file's, the
    /// format, the filter and the syslog table.
    fn with_file_options<K>(&self, mut builder: Builder<K>) -> Result<Builder<K>> {
        builder = builder
            .max_bytes(self.max_bytes)
            .backup_count(self.backup_count)
            .durable(self.durable)
            .rotate_in_utc(self.utc);
        if let Some(compression) = self.compression()? {
            builder = builder.compression(compression);
        }
        #[cfg(feature = "syslog")]
        if let Some(syslog) = &self.syslog {
            builder = builder.syslog(syslog.to_config()?);
        }
        if let Some(rotation) = self.rotation()? {
            builder = builder.rotate_every(rotation);
        }
        if let Some(secs) = self.max_age_seconds {
            builder = builder.max_age(seconds("max_age_seconds", secs)?);
        }
        if let Some(dir) = &self.lock_file_directory {
            builder = builder.lock_file_directory(dir);
        }
        if let Some(mode) = self.file_mode {
            builder = builder.file_mode(mode);
        }
        if let Some(create) = self.create_dirs {
            builder = builder.create_dirs(create);
        }
        if let Some(filter) = self.filter()? {
            builder = builder.filter(filter);
        }
        Ok(match self.format {
            LogFormat::Text => builder.formatter(TextFormatter::new().utc(self.utc)),
            LogFormat::Json => builder.formatter(JsonFormatter::new().utc(self.utc)),
        })
    }

    /// The filter asked for by `level` or `filter`.
    fn filter(&self) -> Result<Option<Filter>> {
        match (self.level, &self.filter) {
            (Some(_), Some(_)) => Err(Error::invalid_config(
                "level and filter both say which records to log; give one (filter = \"warning\" \
                 is level = \"warning\")",
            )),
            (Some(level), None) => Ok(Some(Filter::from_level(level))),
            (None, filter) => Ok(filter.clone()),
        }
    }

    /// The compression asked for by `use_gzip` and `compression`.
    fn compression(&self) -> Result<Option<Compression>> {
        let named = match self
            .compression
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("none") => None,
            Some("gzip") | Some("gz") => Some(Compression::Gzip),
            Some("zstd") | Some("zst") => Some(Compression::Zstd),
            Some(other) => {
                return Err(Error::invalid_config(format!(
                    "compression = \"{other}\": expected \"none\", \"gzip\" or \"zstd\""
                )));
            }
        };
        match (self.use_gzip, named) {
            (true, Some(Compression::Zstd)) => Err(Error::invalid_config(
                "use_gzip = true and compression = \"zstd\" contradict each other",
            )),
            (true, _) => Ok(Some(Compression::Gzip)),
            (false, named) => Ok(named),
        }
    }

    /// Python's `when` and `interval` as a [`Rotation`].
    fn rotation(&self) -> Result<Option<Rotation>> {
        let Some(when) = self.when.as_deref() else {
            if self.interval.is_some() {
                return Err(Error::invalid_config("interval needs when"));
            }
            return Ok(None);
        };
        let interval = self.interval.unwrap_or(1);
        if interval == 0 {
            return Err(Error::invalid_config("interval must be at least 1"));
        }
        let too_long = || {
            Error::invalid_config(format!(
                "interval = {interval} with when = \"{when}\" is too long a period \
                 (at most {MAX_SECONDS} seconds, 100 years)"
            ))
        };
        let period = |unit: u64| {
            unit.checked_mul(interval)
                .filter(|&secs| secs <= MAX_SECONDS)
                .ok_or_else(too_long)
        };
        let every = |unit: u64| Ok(Some(Rotation::Every(Duration::from_secs(period(unit)?))));
        let aligned = |rotation: Rotation| {
            if interval == 1 {
                Ok(Some(rotation))
            } else {
                Err(Error::invalid_config(format!(
                    "when = \"{when}\" takes no interval other than 1"
                )))
            }
        };
        match when.to_ascii_uppercase().as_str() {
            "S" => every(1),
            "M" => every(60),
            "H" => every(3_600),
            "D" => every(86_400),
            // Python accepts an interval here: every `interval` days at midnight.
            "MIDNIGHT" => {
                period(86_400)?;
                match u32::try_from(interval) {
                    Ok(1) => Ok(Some(Rotation::Daily)),
                    Ok(days) => Ok(Some(Rotation::Days(days))),
                    Err(_) => Err(too_long()),
                }
            }
            w if w.len() == 2 && w.starts_with('W') => match w[1..].parse::<usize>() {
                Ok(day) if day < 7 => aligned(Rotation::Weekly(Weekday::ALL[day])),
                _ => Err(Error::invalid_config(format!(
                    "when = \"{when}\": W0 to W6"
                ))),
            },
            _ => Err(Error::invalid_config(format!(
                "when = \"{when}\": expected S, M, H, D, MIDNIGHT or W0 to W6"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_with_an_interval_is_every_n_days() {
        let config = HandlerConfig::from_toml_str(
            "filename = \"a.log\"\nwhen = \"MIDNIGHT\"\ninterval = 2\n",
        )
        .expect("parse");
        assert_eq!(config.rotation().expect("valid"), Some(Rotation::Days(2)));
    }

    #[test]
    fn python_weekdays_count_from_monday() {
        let weekly = |when: &str| {
            HandlerConfig::from_toml_str(&format!("filename = \"a.log\"\nwhen = \"{when}\"\n"))
                .expect("parse")
                .rotation()
                .expect("valid")
        };
        assert_eq!(weekly("W0"), Some(Rotation::Weekly(Weekday::Monday)));
        assert_eq!(weekly("W3"), Some(Rotation::Weekly(Weekday::Thursday)));
        assert_eq!(weekly("w6"), Some(Rotation::Weekly(Weekday::Sunday)));
    }
}
