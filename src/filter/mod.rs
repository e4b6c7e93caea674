//! [`Filter`]: which `(target, level)` pairs pass, in the `RUST_LOG`
//! directive syntax of `env_logger`. The syntax, the rules and where they
//! differ from `env_logger` are documented on [`Filter`], where users read
//! them (this module is private; the crate root re-exports its items).
//!
//! Why hand-rolled rather than `env_filter`: `env_filter` (and
//! `tracing-subscriber`'s `Targets`) speak `log`'s or `tracing`'s levels,
//! which have nothing above `Error`, and each depends on its facade, while
//! this module must build with `default-features = false`, without `log`
//! or `tracing`. The grammar is a few `split`s; the rules are pinned by the
//! table tests at the bottom.

use std::fmt;
use std::str::FromStr;

use crate::record::Level;

/// The environment variable [`Filter::from_default_env`] reads.
pub const DEFAULT_FILTER_ENV: &str = "RUST_LOG";

/// Which `(target, level)` pairs pass: a list of `RUST_LOG` directives,
/// as `env_logger` reads them.
///
/// Parse it once with [`FromStr`] (or [`from_env`](Self::from_env)), then
/// ask [`enabled`](Self::enabled) per record. [`Display`](fmt::Display)
/// writes a string that parses back to an equal filter.
///
/// # Syntax
///
/// Comma-separated directives, each one of
///
/// | directive | means |
/// |---|---|
/// | `info` | the default: every target at `Info` and above |
/// | `app::db` | `app::db` and its submodules at every level |
/// | `app::db=debug` | `app::db` and its submodules at `Debug` and above |
/// | `hyper=off` | nothing from `hyper` and its submodules |
///
/// A level is any name [`Level::from_str`](FromStr::from_str) accepts
/// (`trace`, `debug`, `info`, `warn`/`warning`, `error`, `critical`/`fatal`,
/// in any case) or `off`. The directive with the longest target that
/// covers a record's target decides; targets match at module-path
/// boundaries: `app::db` covers `app::db` and `app::db::pool`, not
/// `app::dbx`. A record no target directive covers gets the default, and
/// without a default it is dropped (`app=debug` alone logs nothing from
/// other targets). No directive at all (`""`, or [`from_env`](Self::from_env)
/// with the variable unset) means `error`, as in `env_logger`; that is also
/// [`Filter::default`]. When two directives name the same target, or two
/// bare levels are given, the last one counts.
///
/// ```
/// use concurrent_log_handler::{Filter, Level};
///
/// let filter: Filter = "info,app::db=debug,app::db::pool=off".parse()?;
/// assert!(filter.enabled("app::http", Level::Info));
/// assert!(!filter.enabled("app::http", Level::Debug));
/// assert!(filter.enabled("app::db", Level::Debug));
/// assert!(filter.enabled("app::db::query", Level::Debug));
/// assert!(!filter.enabled("app::dbx", Level::Debug), "only at `::` boundaries");
/// assert!(!filter.enabled("app::db::pool", Level::Critical));
/// assert_eq!(filter.max_level(), Some(Level::Debug));
/// assert_eq!(filter.to_string(), "info,app::db=debug,app::db::pool=off");
/// assert_eq!(filter.to_string().parse::<Filter>()?, filter);
///
/// assert_eq!(Filter::default(), "error".parse()?);
/// assert_eq!(Filter::from(Level::Info), "info".parse()?);
/// # Ok::<(), concurrent_log_handler::ParseFilterError>(())
/// ```
///
/// # Differences from `env_logger`
///
/// Every directive `env_logger` (its `env_filter` crate) accepts means the
/// same here, except:
///
/// - DIFFERENCE: targets match at `::` boundaries. `env_logger` compares
///   plain string prefixes, so there `app::db` also enables `app::dbx` and
///   `tokio` enables `tokio_util`. A directive ending in `::` (`tokio::`,
///   the usual work-around there) covers the same submodules in both.
/// - DIFFERENCE: `critical` (and `fatal`) name our level above `Error`, and
///   `warning` is `warn`; `env_logger` reads these words as targets.
///   `error` passes `Error` and `Critical`.
/// - DIFFERENCE: message filters (`info/regex`) are refused
///   ([`ParseFilterErrorKind::MessageFilter`]), not applied. A filter here
///   decides on target and level alone, before the message is formatted,
///   which keeps a filtered-out record nearly free.
/// - DIFFERENCE: a bad directive fails the whole filter with a
///   [`ParseFilterError`], as `env_filter`'s `try_parse` does; `env_logger`'s
///   own `parse` prints a warning and ignores that directive, and ignores a
///   `RUST_LOG` that is not Unicode.
/// - Spaces around a target are trimmed (`app = debug`); `env_logger` keeps
///   them in the target, which then matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The threshold of targets no directive names; `None` is `off`.
    default: Option<Level>,
    /// One directive per target, sorted by target. The order only makes
    /// `Display` and `==` canonical; matching looks at every entry.
    targets: Vec<Directive>,
}

/// `target=level`, where `threshold: None` is `off`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Directive {
    target: String,
    threshold: Option<Level>,
}

impl Directive {
    /// Whether this directive's target covers `target`: equal, or a parent
    /// module of it. A directive ending in `::` is already at a boundary.
    fn covers(&self, target: &str) -> bool {
        match target.strip_prefix(self.target.as_str()) {
            Some("") => true,
            Some(rest) => self.target.ends_with("::") || rest.starts_with("::"),
            None => false,
        }
    }
}

impl Default for Filter {
    /// `error`: what `env_logger` does without any directive.
    fn default() -> Self {
        Filter::from_level(Level::Error)
    }
}

impl From<Level> for Filter {
    /// Every target at `level` and above ([`Filter::from_level`]).
    fn from(level: Level) -> Self {
        Filter::from_level(level)
    }
}

impl Filter {
    /// Every target at `level` and above: the filter `"<level>"`.
    ///
    /// ```
    /// use concurrent_log_handler::{Filter, Level};
    ///
    /// let filter = Filter::from_level(Level::Warn);
    /// assert!(filter.enabled("any::thing", Level::Critical));
    /// assert!(!filter.enabled("any::thing", Level::Info));
    /// assert_eq!(filter.to_string(), "warn");
    /// ```
    #[must_use]
    pub fn from_level(level: Level) -> Filter {
        Filter {
            default: Some(level),
            targets: Vec::new(),
        }
    }

    /// Nothing passes: the filter `"off"`.
    ///
    /// ```
    /// use concurrent_log_handler::{Filter, Level};
    ///
    /// assert!(!Filter::off().enabled("app", Level::Critical));
    /// assert_eq!(Filter::off().max_level(), None);
    /// ```
    #[must_use]
    pub fn off() -> Filter {
        Filter {
            default: None,
            targets: Vec::new(),
        }
    }

    /// Whether a record of `target` at `level` passes.
    ///
    /// The directive with the longest target covering `target` decides
    /// (see [Syntax](Filter#syntax)); without one, the default does.
    ///
    /// ```
    /// use concurrent_log_handler::{Filter, Level};
    ///
    /// let filter: Filter = "app=info,app::db=trace".parse()?;
    /// assert!(filter.enabled("app::db::pool", Level::Trace));
    /// assert!(!filter.enabled("app::dbx", Level::Debug)); // `app` decides
    /// assert!(!filter.enabled("other", Level::Critical)); // no default: off
    /// # Ok::<(), concurrent_log_handler::ParseFilterError>(())
    /// ```
    #[must_use]
    pub fn enabled(&self, target: &str, level: Level) -> bool {
        // A linear scan: real filters name a handful of targets, and most
        // comparisons fail on the first bytes. The longest covering target
        // wins whatever the order, so the list can stay sorted by name.
        let mut best: Option<&Directive> = None;
        for directive in &self.targets {
            if directive.covers(target)
                && best.is_none_or(|b| directive.target.len() > b.target.len())
            {
                best = Some(directive);
            }
        }
        let threshold = match best {
            Some(directive) => directive.threshold,
            None => self.default,
        };
        threshold.is_some_and(|threshold| level >= threshold)
    }

    /// The most verbose level any target can pass, `None` when nothing
    /// passes at all. A logger can skip records below it without asking
    /// [`enabled`](Self::enabled) (what `log::set_max_level` is for).
    ///
    /// ```
    /// use concurrent_log_handler::{Filter, Level};
    ///
    /// assert_eq!("warn,app::db=debug".parse::<Filter>()?.max_level(), Some(Level::Debug));
    /// assert_eq!("off,app=off".parse::<Filter>()?.max_level(), None);
    /// assert_eq!("app".parse::<Filter>()?.max_level(), Some(Level::Trace));
    /// # Ok::<(), concurrent_log_handler::ParseFilterError>(())
    /// ```
    #[must_use]
    pub fn max_level(&self) -> Option<Level> {
        // Each directive is reachable (by its own target), so the lowest
        // threshold among them is the answer.
        self.targets
            .iter()
            .map(|d| d.threshold)
            .chain([self.default])
            .flatten()
            .min()
    }

    /// The filter in the environment variable `var`, or `default` when
    /// `var` is not set.
    ///
    /// # Errors
    ///
    /// A [`ParseFilterError`] naming `var` when its value is not valid
    /// Unicode or not a valid filter: a typo in `RUST_LOG` is reported,
    /// never replaced by the default.
    ///
    /// ```
    /// use concurrent_log_handler::{Filter, Level};
    ///
    /// // Unset here, so the default applies.
    /// let filter = Filter::from_env_or("CLH_DOC_UNSET_FILTER", Level::Info)?;
    /// assert_eq!(filter, Filter::from_level(Level::Info));
    /// # Ok::<(), concurrent_log_handler::ParseFilterError>(())
    /// ```
    pub fn from_env_or(var: &str, default: impl Into<Filter>) -> Result<Filter, ParseFilterError> {
        match std::env::var(var) {
            Ok(value) => value.parse().map_err(|e: ParseFilterError| e.in_var(var)),
            Err(std::env::VarError::NotPresent) => Ok(default.into()),
            Err(std::env::VarError::NotUnicode(value)) => Err(ParseFilterError {
                directive: value.to_string_lossy().into_owned(),
                kind: ParseFilterErrorKind::NotUnicode,
                var: None,
            }
            .in_var(var)),
        }
    }

    /// The filter in the environment variable `var`; when it is not set,
    /// [`Filter::default`] (`error`), as `env_logger` does.
    ///
    /// # Errors
    ///
    /// As [`from_env_or`](Self::from_env_or).
    ///
    /// ```
    /// use concurrent_log_handler::Filter;
    ///
    /// assert_eq!(Filter::from_env("CLH_DOC_UNSET_FILTER")?, Filter::default());
    /// # Ok::<(), concurrent_log_handler::ParseFilterError>(())
    /// ```
    pub fn from_env(var: &str) -> Result<Filter, ParseFilterError> {
        Filter::from_env_or(var, Filter::default())
    }

    /// The filter in `RUST_LOG` ([`DEFAULT_FILTER_ENV`]); when it is not
    /// set, [`Filter::default`] (`error`).
    ///
    /// # Errors
    ///
    /// As [`from_env_or`](Self::from_env_or).
    pub fn from_default_env() -> Result<Filter, ParseFilterError> {
        Filter::from_env(DEFAULT_FILTER_ENV)
    }

    /// Adds `target=threshold`, replacing an earlier directive for the
    /// same target (the last one counts).
    fn set_target(&mut self, target: &str, threshold: Option<Level>) {
        match self
            .targets
            .binary_search_by(|d| d.target.as_str().cmp(target))
        {
            Ok(i) => self.targets[i].threshold = threshold,
            Err(i) => self.targets.insert(
                i,
                Directive {
                    target: target.to_owned(),
                    threshold,
                },
            ),
        }
    }
}

/// A level name or `off` (`Ok(None)`); `Err(())` for anything else.
fn parse_threshold(text: &str) -> Result<Option<Level>, ()> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse::<Level>().map(Some).map_err(|_| ())
}

/// The name `Display` writes: lowercase, and `warn` rather than `warning`
/// so that `env_logger` reads it too.
fn threshold_name(threshold: Option<Level>) -> &'static str {
    match threshold {
        None => "off",
        Some(Level::Trace) => "trace",
        Some(Level::Debug) => "debug",
        Some(Level::Info) => "info",
        Some(Level::Warn) => "warn",
        Some(Level::Error) => "error",
        Some(Level::Critical) => "critical",
    }
}

impl FromStr for Filter {
    type Err = ParseFilterError;

    /// Parses a directive list (see [Syntax](Filter#syntax)).
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        if spec.contains('/') {
            return Err(ParseFilterError::new(
                spec.trim(),
                ParseFilterErrorKind::MessageFilter,
            ));
        }
        // `None` until a bare level (or `=level`) is seen: without one, and
        // without any directive, the default is `error` (env_logger's rule).
        let mut default: Option<Option<Level>> = None;
        let mut filter = Filter::off();
        let mut any = false;
        for directive in spec.split(',').map(str::trim) {
            if directive.is_empty() {
                continue;
            }
            any = true;
            let mut parts = directive.split('=');
            let target = parts.next().unwrap_or_default().trim();
            let level = parts.next().map(str::trim);
            if parts.next().is_some() {
                return Err(ParseFilterError::new(
                    directive,
                    ParseFilterErrorKind::ExtraEquals,
                ));
            }
            let threshold = match level {
                // `app::db`: a level name is the default, anything else a target
                // at every level.
                None => match parse_threshold(target) {
                    Ok(threshold) => {
                        default = Some(threshold);
                        continue;
                    }
                    Err(()) => Some(Level::Trace),
                },
                // `app::db=`: every level, as in env_logger.
                Some("") => Some(Level::Trace),
                Some(level) => parse_threshold(level).map_err(|()| {
                    ParseFilterError::new(directive, ParseFilterErrorKind::UnknownLevel)
                })?,
            };
            if target.is_empty() {
                // `=debug`: env_logger keeps an empty target, which every
                // record's target starts with; that is the default.
                default = Some(threshold);
            } else {
                filter.set_target(target, threshold);
            }
        }
        filter.default = match default {
            Some(threshold) => threshold,
            None if !any => Some(Level::Error),
            None => None,
        };
        Ok(filter)
    }
}

impl fmt::Display for Filter {
    /// The default first (`off` when there is none), then `target=level`
    /// for each target in name order: always a string that parses back to
    /// an equal filter, and `env_logger` syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(threshold_name(self.default))?;
        for directive in &self.targets {
            write!(
                f,
                ",{}={}",
                directive.target,
                threshold_name(directive.threshold)
            )?;
        }
        Ok(())
    }
}

/// What was wrong with a filter ([`ParseFilterError::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseFilterErrorKind {
    /// `target=level` with a level that is neither a level name nor `off`.
    UnknownLevel,
    /// A directive with more than one `=` (`app=info=debug`).
    ExtraEquals,
    /// A message filter (`info/regex`), which this crate does not apply.
    MessageFilter,
    /// The environment variable does not hold valid Unicode.
    NotUnicode,
}

/// The error of parsing a [`Filter`]: which directive, and what was wrong.
///
/// ```
/// use concurrent_log_handler::{Filter, ParseFilterErrorKind};
///
/// let err = "info,app::db=loud".parse::<Filter>().unwrap_err();
/// assert_eq!(err.kind(), ParseFilterErrorKind::UnknownLevel);
/// assert_eq!(err.directive(), "app::db=loud");
/// assert_eq!(
///     err.to_string(),
///     "invalid log filter directive \"app::db=loud\": unknown level \"loud\" \
///      (expected off, trace, debug, info, warn, error or critical)"
/// );
///
/// let err = "debug/sql".parse::<Filter>().unwrap_err();
/// assert_eq!(err.kind(), ParseFilterErrorKind::MessageFilter);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFilterError {
    directive: String,
    kind: ParseFilterErrorKind,
    /// The environment variable the filter came from, if any.
    var: Option<String>,
}

impl ParseFilterError {
    fn new(directive: &str, kind: ParseFilterErrorKind) -> Self {
        ParseFilterError {
            directive: directive.to_owned(),
            kind,
            var: None,
        }
    }

    fn in_var(mut self, var: &str) -> Self {
        self.var = Some(var.to_owned());
        self
    }

    /// What was wrong.
    #[must_use]
    pub fn kind(&self) -> ParseFilterErrorKind {
        self.kind
    }

    /// The directive at fault (the whole filter for a message filter, the
    /// lossy text of a value that is not Unicode).
    #[must_use]
    pub fn directive(&self) -> &str {
        &self.directive
    }

    /// The environment variable the filter was read from, when it was.
    ///
    /// ```
    /// use concurrent_log_handler::Filter;
    ///
    /// assert_eq!("app=x".parse::<Filter>().unwrap_err().var(), None);
    /// ```
    #[must_use]
    pub fn var(&self) -> Option<&str> {
        self.var.as_deref()
    }
}

impl fmt::Display for ParseFilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(var) = &self.var {
            write!(f, "{var}: ")?;
        }
        match self.kind {
            ParseFilterErrorKind::UnknownLevel => {
                let level = self
                    .directive
                    .split_once('=')
                    .map_or("", |(_, level)| level.trim());
                write!(
                    f,
                    "invalid log filter directive {:?}: unknown level {level:?} \
                     (expected off, trace, debug, info, warn, error or critical)",
                    self.directive
                )
            }
            ParseFilterErrorKind::ExtraEquals => write!(
                f,
                "invalid log filter directive {:?}: more than one '='",
                self.directive
            ),
            ParseFilterErrorKind::MessageFilter => write!(
                f,
                "invalid log filter {:?}: message filters ('/regex') are not supported",
                self.directive
            ),
            ParseFilterErrorKind::NotUnicode => {
                write!(f, "log filter {:?} is not valid Unicode", self.directive)
            }
        }
    }
}

impl std::error::Error for ParseFilterError {}

#[cfg(test)]
mod tests;
