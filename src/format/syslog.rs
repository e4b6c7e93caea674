//! RFC 5424 syslog messages: a [`Record`] as one message, without the
//! transport's framing (that is [`crate::net`]'s job).
//!
//! ```text
//! <134>1 2026-11-23T08:07:37.042123Z web-3 api 4242 app::auth [fields@32473 user="42"] user logged in
//! ```

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;

use super::escape::escape;
use super::{Formatter, write_plain_value};
use crate::record::{Level, Record};

/// The private enterprise number in the default SD-ID, `fields@32473`:
/// 32473 is the number RFC 5612 reserves for documentation and examples
/// (RFC 5424's own examples use it). Set your organisation's with
/// [`SyslogFormatter::enterprise_id`].
pub const DEFAULT_ENTERPRISE_ID: u32 = 32473;
/// The name part of the default SD-ID, `fields@32473`.
pub const DEFAULT_SD_NAME: &str = "fields";

/// RFC 5424 §6.1: the longest HOSTNAME, APP-NAME, PROCID and MSGID.
const MAX_HOSTNAME: usize = 255;
const MAX_APP_NAME: usize = 48;
const MAX_MSGID: usize = 32;
/// RFC 5424 §6.3.2/§6.3.3: SD-NAME is 1 to 32 characters.
const MAX_SD_NAME: usize = 32;
/// What a header field is when it has no value (RFC 5424 §6: NILVALUE).
const NIL: &[u8] = b"-";

/// A syslog facility (RFC 5424 §6.2.1): which part of the system a message
/// comes from. Collectors route by it, e.g. `local0.* /var/log/api.log`.
///
/// Parsed from and displayed as the names rsyslog and syslog(3) use,
/// case-insensitively; a few have aliases (`security` for `audit`,
/// `console` for `alert`, `cron2` and `solaris-cron` for `clock`).
///
/// ```
/// use concurrent_log_handler::format::Facility;
///
/// let facility: Facility = "local0".parse()?;
/// assert_eq!(facility, Facility::Local0);
/// assert_eq!(facility.code(), 16);
/// assert_eq!(facility.to_string(), "local0");
/// assert_eq!("DAEMON".parse::<Facility>()?, Facility::Daemon);
/// assert!("local8".parse::<Facility>().is_err());
/// # Ok::<(), concurrent_log_handler::format::ParseFacilityError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[allow(missing_docs)] // the names are the standard's; `code` documents the numbers
pub enum Facility {
    Kern,
    /// User-level messages, the default for applications.
    #[default]
    User,
    Mail,
    Daemon,
    Auth,
    Syslog,
    Lpr,
    News,
    Uucp,
    Cron,
    AuthPriv,
    Ftp,
    Ntp,
    Audit,
    Alert,
    Clock,
    Local0,
    Local1,
    Local2,
    Local3,
    Local4,
    Local5,
    Local6,
    Local7,
}

impl Facility {
    /// Every facility, by code (`ALL[code]`).
    pub const ALL: [Facility; 24] = [
        Facility::Kern,
        Facility::User,
        Facility::Mail,
        Facility::Daemon,
        Facility::Auth,
        Facility::Syslog,
        Facility::Lpr,
        Facility::News,
        Facility::Uucp,
        Facility::Cron,
        Facility::AuthPriv,
        Facility::Ftp,
        Facility::Ntp,
        Facility::Audit,
        Facility::Alert,
        Facility::Clock,
        Facility::Local0,
        Facility::Local1,
        Facility::Local2,
        Facility::Local3,
        Facility::Local4,
        Facility::Local5,
        Facility::Local6,
        Facility::Local7,
    ];

    /// The numerical code, 0 (`kern`) to 23 (`local7`).
    ///
    /// ```
    /// use concurrent_log_handler::format::Facility;
    /// assert_eq!(Facility::Kern.code(), 0);
    /// assert_eq!(Facility::Local7.code(), 23);
    /// assert!(Facility::ALL.iter().enumerate().all(|(i, f)| usize::from(f.code()) == i));
    /// ```
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The name [`Display`](fmt::Display) writes.
    ///
    /// ```
    /// use concurrent_log_handler::format::Facility;
    /// assert_eq!(Facility::AuthPriv.as_str(), "authpriv");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Facility::Kern => "kern",
            Facility::User => "user",
            Facility::Mail => "mail",
            Facility::Daemon => "daemon",
            Facility::Auth => "auth",
            Facility::Syslog => "syslog",
            Facility::Lpr => "lpr",
            Facility::News => "news",
            Facility::Uucp => "uucp",
            Facility::Cron => "cron",
            Facility::AuthPriv => "authpriv",
            Facility::Ftp => "ftp",
            Facility::Ntp => "ntp",
            Facility::Audit => "audit",
            Facility::Alert => "alert",
            Facility::Clock => "clock",
            Facility::Local0 => "local0",
            Facility::Local1 => "local1",
            Facility::Local2 => "local2",
            Facility::Local3 => "local3",
            Facility::Local4 => "local4",
            Facility::Local5 => "local5",
            Facility::Local6 => "local6",
            Facility::Local7 => "local7",
        }
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The error of parsing a [`Facility`] from a string that names none.
///
/// ```
/// use concurrent_log_handler::format::Facility;
///
/// let err = "local9".parse::<Facility>().unwrap_err();
/// assert!(err.to_string().contains("\"local9\""), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFacilityError(String);

impl fmt::Display for ParseFacilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown syslog facility {:?} (expected kern, user, daemon, auth, …, local0 … local7)",
            self.0
        )
    }
}

impl std::error::Error for ParseFacilityError {}

impl FromStr for Facility {
    type Err = ParseFacilityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        let alias = match name.as_str() {
            "security" => Some(Facility::Audit),
            "console" => Some(Facility::Alert),
            "cron2" | "solaris-cron" => Some(Facility::Clock),
            _ => None,
        };
        alias
            .or_else(|| Facility::ALL.into_iter().find(|f| f.as_str() == name))
            .ok_or_else(|| ParseFacilityError(s.to_owned()))
    }
}

/// The RFC 5424 severity of a level: `Critical` 2 (crit), `Error` 3 (err),
/// `Warn` 4 (warning), `Info` 6 (info), `Debug` and `Trace` 7 (debug).
/// Nothing maps to 0, 1 or 5 (emerg, alert, notice): they have no level.
///
/// ```
/// use concurrent_log_handler::Level;
/// use concurrent_log_handler::format::severity;
///
/// assert_eq!(severity(Level::Critical), 2);
/// assert_eq!(severity(Level::Trace), 7);
/// ```
pub const fn severity(level: Level) -> u8 {
    match level {
        Level::Critical => 2,
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// A record as one RFC 5424 syslog message, without transport framing:
///
/// ```text
/// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
/// ```
///
/// | part | from | rules |
/// |---|---|---|
/// | PRI | facility × 8 + [`severity`] of the level | |
/// | TIMESTAMP | the record's time, UTC, microseconds (`2026-11-23T08:07:37.042123Z`) | |
/// | HOSTNAME | [`hostname`](Self::hostname), else `gethostname(2)` | at most 255 characters |
/// | APP-NAME | [`app_name`](Self::app_name), else the executable's file name | at most 48 |
/// | PROCID | the record's pid | |
/// | MSGID | [`msgid`](Self::msgid), else the record's target | at most 32 |
/// | STRUCTURED-DATA | one element `[fields@32473 key="value" …]`: the record's fields, then its span fields | names at most 32 |
/// | MSG | the message, UTF-8, no BOM | |
///
/// Header fields hold printable US-ASCII only (`!` to `~`): every other
/// character becomes `_`, a longer value is cut, an empty one is written
/// as the NILVALUE `-`. A PARAM-NAME also loses `=`, `]` and `"` to `_`.
/// Field values and the message are first [escaped](super::escape()), so a
/// record is one message with no line break or control character in it
/// whatever it holds; values are then escaped for RFC 5424 (`"`, `\` and
/// `]` get a backslash), so undoing the RFC's escaping and then
/// [`escape`]'s gives back the original text. Non-ASCII text is kept as
/// UTF-8.
///
/// The message carries no byte order mark, though RFC 5424 §6.4 lets a
/// sender mark UTF-8 with one: it is optional (MSG-ANY is allowed), every
/// collector we know reads the message as UTF-8 anyway, and rsyslog keeps
/// the BOM's three bytes in the stored message (`%msg%`), where it would
/// trouble every reader downstream.
///
/// The message ends without `\n`: the syslog sink frames messages itself
/// (and drops a final `\n`, which the handlers add to every line).
///
/// ```
/// use concurrent_log_handler::format::{Facility, Formatter, SyslogFormatter};
/// use concurrent_log_handler::{Level, Record};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let formatter = SyslogFormatter::new()
///     .facility(Facility::Local0)
///     .hostname("web-3")
///     .app_name("api");
/// let record = Record::new(Level::Warn, "disk \"full\"\nreally")
///     .with_target("app::disk")
///     .with_field("path", "/var/[x]")
///     .with_timestamp(UNIX_EPOCH + Duration::from_micros(1_795_421_257_042_123));
/// let mut out = Vec::new();
/// formatter.format(&record, &mut out);
/// let pid = std::process::id();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     // local0 (16) * 8 + warning (4) = 132
///     format!("<132>1 2026-11-23T08:07:37.042123Z web-3 api {pid} app::disk \
///              [fields@32473 path=\"/var/[x\\]\"] disk \"full\"\\nreally"),
/// );
/// ```
#[derive(Debug, Clone)]
pub struct SyslogFormatter {
    facility: Facility,
    /// Sanitised, or `-`.
    hostname: String,
    /// Sanitised, or `-`.
    app_name: String,
    /// A fixed, sanitised MSGID; `None` writes the record's target.
    msgid: Option<String>,
    sd_name: String,
    enterprise_id: u32,
}

impl Default for SyslogFormatter {
    fn default() -> Self {
        Self::new()
    }
}

impl SyslogFormatter {
    /// Facility `user`, this machine's hostname, the executable's name as
    /// APP-NAME, the target as MSGID, SD-ID `fields@32473`.
    ///
    /// ```
    /// use concurrent_log_handler::format::{Formatter, SyslogFormatter};
    /// use concurrent_log_handler::{Level, Record};
    ///
    /// let formatter = SyslogFormatter::new()
    ///     .hostname("web 3") // not printable US-ASCII: `_`
    ///     .app_name("api")
    ///     .msgid("AUDIT")
    ///     .sd_name("ctx")
    ///     .enterprise_id(99999);
    /// let mut out = Vec::new();
    /// formatter.format(&Record::new(Level::Info, "login").with_field("user", 7), &mut out);
    /// let message = String::from_utf8(out).unwrap();
    /// let pid = std::process::id();
    /// assert!(message.starts_with("<14>1 "), "{message}"); // user (1) * 8 + info (6)
    /// assert!(message.ends_with(&format!(" web_3 api {pid} AUDIT [ctx@99999 user=\"7\"] login")), "{message}");
    /// ```
    pub fn new() -> Self {
        SyslogFormatter {
            facility: Facility::User,
            hostname: header_field(&system_hostname().unwrap_or_default(), MAX_HOSTNAME),
            app_name: header_field(&executable_name().unwrap_or_default(), MAX_APP_NAME),
            msgid: None,
            sd_name: DEFAULT_SD_NAME.to_owned(),
            enterprise_id: DEFAULT_ENTERPRISE_ID,
        }
    }

    /// The facility of every message (default `user`).
    #[must_use]
    pub fn facility(mut self, facility: Facility) -> Self {
        self.facility = facility;
        self
    }

    /// The HOSTNAME field (default: `gethostname(2)`; `-` if that fails).
    #[must_use]
    pub fn hostname(mut self, hostname: impl AsRef<str>) -> Self {
        self.hostname = header_field(hostname.as_ref(), MAX_HOSTNAME);
        self
    }

    /// The APP-NAME field (default: the executable's file name).
    #[must_use]
    pub fn app_name(mut self, app_name: impl AsRef<str>) -> Self {
        self.app_name = header_field(app_name.as_ref(), MAX_APP_NAME);
        self
    }

    /// A fixed MSGID for every message, instead of each record's target.
    #[must_use]
    pub fn msgid(mut self, msgid: impl AsRef<str>) -> Self {
        self.msgid = Some(header_field(msgid.as_ref(), MAX_MSGID));
        self
    }

    /// The private enterprise number after the `@` of the SD-ID (default
    /// [`DEFAULT_ENTERPRISE_ID`], the number reserved for examples).
    #[must_use]
    pub fn enterprise_id(mut self, enterprise_id: u32) -> Self {
        self.enterprise_id = enterprise_id;
        self
    }

    /// The name before the `@` of the SD-ID (default `fields`); sanitised as
    /// an SD-NAME (`@` also becomes `_`).
    #[must_use]
    pub fn sd_name(mut self, name: impl AsRef<str>) -> Self {
        let mut out = Vec::new();
        sd_name(name.as_ref(), &mut out);
        for b in &mut out {
            if *b == b'@' {
                *b = b'_';
            }
        }
        self.sd_name = String::from_utf8(out).unwrap_or_else(|_| DEFAULT_SD_NAME.to_owned());
        self
    }
}

impl Formatter for SyslogFormatter {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        let pri = u32::from(self.facility.code()) * 8 + u32::from(severity(record.level()));
        out.push(b'<');
        push_decimal(pri, out);
        out.extend_from_slice(b">1 ");
        write_timestamp(record.timestamp(), out);
        out.push(b' ');
        out.extend_from_slice(self.hostname.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.app_name.as_bytes());
        out.push(b' ');
        push_decimal(record.pid(), out);
        out.push(b' ');
        match &self.msgid {
            Some(msgid) => out.extend_from_slice(msgid.as_bytes()),
            None => push_header_field(record.target(), MAX_MSGID, out),
        }
        out.push(b' ');
        let mut params = record.fields().chain(record.span_fields()).peekable();
        if params.peek().is_none() {
            out.extend_from_slice(NIL);
        } else {
            out.push(b'[');
            out.extend_from_slice(self.sd_name.as_bytes());
            out.push(b'@');
            push_decimal(self.enterprise_id, out);
            for (key, value) in params {
                out.push(b' ');
                sd_name(key, out);
                out.extend_from_slice(b"=\"");
                match value.as_str() {
                    Some(text) => param_value(text, out),
                    // Digits, a dot, a sign, `true`/`false`: nothing to escape.
                    None => {
                        write_plain_value(value, out);
                    }
                }
                out.push(b'"');
            }
            out.push(b']');
        }
        if !record.message().is_empty() {
            out.push(b' ');
            escape(record.message(), out);
        }
    }
}

/// `text` as a header field: printable US-ASCII, at most `max` bytes, `-` if empty.
fn header_field(text: &str, max: usize) -> String {
    let mut out = Vec::new();
    push_header_field(text, max, &mut out);
    // Only printable ASCII was written.
    String::from_utf8(out).unwrap_or_else(|_| "-".to_owned())
}

fn push_header_field(text: &str, max: usize, out: &mut Vec<u8>) {
    if text.is_empty() {
        out.extend_from_slice(NIL);
        return;
    }
    // One byte per char: a non-ASCII char becomes one `_`, so the length
    // limit counts characters the reader sees.
    out.extend(text.chars().take(max).map(|c| match c {
        '!'..='~' => c as u8,
        _ => b'_',
    }));
}

/// An SD-NAME (RFC 5424 §6.3.3): 1 to 32 printable US-ASCII characters but
/// `=`, space, `]` and `"`; anything else becomes `_`, and an empty name `_`.
fn sd_name(text: &str, out: &mut Vec<u8>) {
    if text.is_empty() {
        out.push(b'_');
        return;
    }
    out.extend(text.chars().take(MAX_SD_NAME).map(|c| match c {
        '=' | ']' | '"' => b'_',
        '!'..='~' => c as u8,
        _ => b'_',
    }));
}

/// A PARAM-VALUE: [`escape`]d for one-line safety, then `"`, `\` and `]`
/// escaped with a backslash as RFC 5424 §6.3.3 requires.
fn param_value(value: &str, out: &mut Vec<u8>) {
    let start = out.len();
    escape(value, out);
    if !out[start..]
        .iter()
        .any(|b| matches!(b, b'"' | b'\\' | b']'))
    {
        return;
    }
    let escaped = out.split_off(start);
    for b in escaped {
        if matches!(b, b'"' | b'\\' | b']') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

fn push_decimal(n: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// The date and time of one second, `2026-11-23T08:07:37`, rendered once
/// per second and thread (jiff's strftime costs more than the rest of the
/// message).
struct CachedSecond {
    unix_second: i64,
    stamp: Vec<u8>,
}

thread_local! {
    static SECOND: RefCell<Option<CachedSecond>> = const { RefCell::new(None) };
}

/// Appends `time` in UTC with microseconds: `2026-11-23T08:07:37.042123Z`.
fn write_timestamp(time: SystemTime, out: &mut Vec<u8>) {
    let (unix_second, micros) = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_micros(),
        ),
        // Before 1970: not worth a code path of its own.
        Err(_) => (0, 0),
    };
    let render = |second: i64| {
        let ts = Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH);
        jiff::tz::Offset::UTC
            .to_datetime(ts)
            .strftime("%Y-%m-%dT%H:%M:%S")
            .to_string()
            .into_bytes()
    };
    SECOND.with(|cache| match cache.try_borrow_mut() {
        Ok(mut slot) => {
            let cached = match &mut *slot {
                Some(c) if c.unix_second == unix_second => c,
                other => other.insert(CachedSecond {
                    unix_second,
                    stamp: render(unix_second),
                }),
            };
            out.extend_from_slice(&cached.stamp);
        }
        Err(_) => out.extend_from_slice(&render(unix_second)),
    });
    out.push(b'.');
    let mut digits = [b'0'; 6];
    let mut n = micros;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits);
    out.push(b'Z');
}

/// This machine's hostname from `gethostname(2)`, if it has one.
fn system_hostname() -> Option<String> {
    // HOST_NAME_MAX is 64 on Linux, 255 in POSIX; one more for the NUL.
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole
    // call, and gethostname writes at most that many. POSIX leaves it open
    // whether a truncated name is NUL-terminated, so the terminator is
    // searched for below instead of assumed (a name with none is refused).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let len = buf.iter().position(|&b| b == 0)?;
    let name = std::str::from_utf8(&buf[..len]).ok()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// The executable's file name (`api` for `/usr/local/bin/api`).
fn executable_name() -> Option<String> {
    let path = std::env::current_exe()
        .ok()
        .or_else(|| std::env::args_os().next().map(Into::into))?;
    Some(path.file_name()?.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fixed() -> SyslogFormatter {
        SyslogFormatter::new().hostname("host").app_name("app")
    }

    fn render(formatter: &SyslogFormatter, record: &Record) -> String {
        let mut out = Vec::new();
        formatter.format(record, &mut out);
        String::from_utf8(out).expect("messages are UTF-8")
    }

    fn at(micros: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(micros)
    }

    /// Undoes RFC 5424's PARAM-VALUE escaping.
    fn unescape_sd(value: &str) -> String {
        let mut out = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            }
        }
        out
    }

    #[test]
    fn pri_is_facility_times_eight_plus_severity() {
        let cases = [
            (Facility::Kern, Level::Critical, 2),
            (Facility::User, Level::Error, 11),
            (Facility::Daemon, Level::Warn, 28),
            (Facility::Local0, Level::Info, 134),
            (Facility::Local7, Level::Debug, 191),
            (Facility::Local7, Level::Trace, 191),
        ];
        for (facility, level, pri) in cases {
            let line = render(&fixed().facility(facility), &Record::new(level, "m"));
            assert!(
                line.starts_with(&format!("<{pri}>1 ")),
                "{facility} {level}: {line}"
            );
        }
    }

    #[test]
    fn facilities_round_trip_through_their_names() {
        for (code, facility) in Facility::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(facility.code()), code);
            assert_eq!(facility.to_string().parse::<Facility>(), Ok(facility));
        }
        let aliases = [
            ("security", Facility::Audit),
            ("Console", Facility::Alert),
            ("solaris-cron", Facility::Clock),
            (" local3 ", Facility::Local3),
        ];
        for (name, facility) in aliases {
            assert_eq!(name.parse::<Facility>(), Ok(facility), "{name}");
        }
        for bad in ["", "local8", "users", "16"] {
            assert!(bad.parse::<Facility>().is_err(), "{bad}");
        }
    }

    #[test]
    fn whole_message_layout() {
        let record = Record::new(Level::Info, "hello")
            .with_target("app::db")
            .with_timestamp(at(1_795_421_257_000_007));
        let pid = std::process::id();
        assert_eq!(
            render(&fixed(), &record),
            format!("<14>1 2026-11-23T08:07:37.000007Z host app {pid} app::db - hello")
        );
        // No target, no fields, no message: every optional part is NIL or absent.
        let bare = Record::new(Level::Info, "").with_timestamp(at(0));
        assert_eq!(
            render(&fixed().msgid("").hostname(""), &bare),
            format!("<14>1 1970-01-01T00:00:00.000000Z - app {pid} - -")
        );
    }

    #[test]
    fn header_fields_are_printable_ascii_and_cut_to_their_limits() {
        let cases: [(&str, usize, &str); 6] = [
            ("web-3.example.org", 255, "web-3.example.org"),
            ("has space", 48, "has_space"),
            ("tab\tnl\nnul\0", 48, "tab_nl_nul_"),
            ("café", 48, "caf_"),
            ("", 32, "-"),
            (&"x".repeat(40), 32, &"x".repeat(32)),
        ];
        for (input, max, want) in cases {
            assert_eq!(header_field(input, max), want, "{input:?}");
        }
        let long = "a".repeat(300);
        let f = fixed().hostname(&long).app_name(&long).msgid(&long);
        let line = render(&f, &Record::new(Level::Info, "m"));
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts[2].len(), 255);
        assert_eq!(parts[3].len(), 48);
        assert_eq!(parts[5].len(), 32);
        let target = render(
            &fixed(),
            &Record::new(Level::Info, "m").with_target("a b::ç"),
        );
        assert_eq!(target.split(' ').nth(5), Some("a_b::_"));
    }

    #[test]
    fn structured_data_escapes_hostile_values() {
        let cases = [
            ("plain", "plain"),
            ("quote\"d", "quote\\\"d"),
            ("close]bracket", "close\\]bracket"),
            ("back\\slash", "back\\\\\\\\slash"),
            ("new\nline", "new\\\\nline"),
            ("ünïcödé ✓", "ünïcödé ✓"),
            ("", ""),
            ("\"]\\", "\\\"\\]\\\\\\\\"),
        ];
        for (value, want) in cases {
            let line = render(
                &fixed(),
                &Record::new(Level::Info, "m").with_field("k", value),
            );
            assert!(
                line.contains(&format!("[fields@32473 k=\"{want}\"] m")),
                "{value:?}: {line}"
            );
            // RFC unescaping then the crate's escaping gives the value back.
            let mut expect = Vec::new();
            escape(value, &mut expect);
            assert_eq!(unescape_sd(want).as_bytes(), expect, "{value:?}");
        }
    }

    #[test]
    fn param_names_are_sanitised() {
        let cases = [
            ("user", "user"),
            ("a=b", "a_b"),
            ("sp ace", "sp_ace"),
            ("q\"]", "q__"),
            ("", "_"),
            ("ключ", "____"),
            (&*"n".repeat(40), &*"n".repeat(32)),
        ];
        for (name, want) in cases {
            let line = render(
                &fixed(),
                &Record::new(Level::Info, "m").with_field(name.to_owned(), 1),
            );
            assert!(
                line.contains(&format!(" {want}=\"1\"]")),
                "{name:?}: {line}"
            );
        }
    }

    #[test]
    fn fields_then_span_fields_in_one_element() {
        let record = Record::new(Level::Info, "m")
            .with_field("a", 1)
            .with_span("request", [("req", 7)])
            .with_field("b", 2);
        let f = fixed().enterprise_id(99).sd_name("my@ctx");
        assert!(
            render(&f, &record).contains(" [my_ctx@99 a=\"1\" b=\"2\" req=\"7\"] m"),
            "{}",
            render(&f, &record)
        );
    }

    #[test]
    fn message_is_one_line_and_keeps_utf8() {
        let hostile = "line1\nline2\r\n\u{2028}\u{85}\x1b[31m ]\"\\ 日本語";
        let line = render(&fixed(), &Record::new(Level::Info, hostile));
        assert!(
            !line.contains(['\n', '\r', '\u{2028}', '\u{85}', '\x1b']),
            "{line}"
        );
        assert!(
            line.ends_with(" - line1\\nline2\\r\\n\\u{2028}\\u{85}\\x1b[31m ]\"\\\\ 日本語"),
            "{line}"
        );
        assert!(!line.starts_with('\u{feff}') && !line.contains('\u{feff}'));
    }

    #[test]
    fn microseconds_and_cached_seconds() {
        let stamp = |micros| {
            let mut out = Vec::new();
            write_timestamp(at(micros), &mut out);
            String::from_utf8(out).expect("ascii")
        };
        assert_eq!(stamp(1_795_421_257_042_123), "2026-11-23T08:07:37.042123Z");
        assert_eq!(stamp(1_795_421_257_999_999), "2026-11-23T08:07:37.999999Z");
        assert_eq!(stamp(1_795_421_258_000_000), "2026-11-23T08:07:38.000000Z");
    }

    #[test]
    fn gethostname_gives_this_machines_name() {
        let name = system_hostname().expect("the test machine has a hostname");
        let proc = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| name.clone());
        assert_eq!(name, proc);
        assert!(
            SyslogFormatter::new()
                .app_name
                .starts_with("concurrent_log_handler")
        );
    }
}
