//! RFC 5424 syslog messages: a [`Record`] as one message, without the
//! transport's framing (that is [`crate::net`]'s job).
//!
//! ```text
//! <134>1 2026-11-23T08:07:37.042123Z web-3 api 4242 app::auth [fields@32473 user="42"] user logged in
//! ```
//!
//! [`SyslogFormatter`] writes the message; its parts come from `priority`
//! (facility and severity), `sanitise` (what each field may hold),
//! `timestamp` (the TIMESTAMP) and `identity` (the default HOSTNAME and
//! APP-NAME).

mod identity;
mod priority;
mod sanitise;
#[cfg(test)]
mod tests;
mod timestamp;

use super::escape::escape;
use super::{Formatter, write_plain_value};
use crate::record::Record;
use identity::{executable_name, system_hostname};
pub use priority::{Facility, ParseFacilityError, severity};
use sanitise::{
    MAX_APP_NAME, MAX_HOSTNAME, MAX_MSGID, NIL, header_field, param_value, push_header_field,
    push_sd_id, sd_name,
};
use timestamp::write_timestamp;

/// The private enterprise number in the default SD-ID, `fields@32473`:
/// 32473 is the number RFC 5612 reserves for documentation and examples
/// (RFC 5424's own examples use it). Set your organisation's with
/// [`SyslogFormatter::enterprise_id`].
pub const DEFAULT_ENTERPRISE_ID: u32 = 32473;
/// The name part of the default SD-ID, `fields@32473`.
pub const DEFAULT_SD_NAME: &str = "fields";

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
/// | STRUCTURED-DATA | one element `[fields@32473 key="value" …]`: the record's fields, then its span fields | SD-ID and names at most 32 |
/// | MSG | the message, UTF-8, no BOM | a first U+FEFF is written `\u{feff}` |
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
/// trouble every reader downstream. For the same reason a message that
/// itself begins with U+FEFF has that character written as `\u{feff}`:
/// as raw bytes there, a collector would take it for the mark and drop it.
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
    /// an SD-NAME (`@` also becomes `_`), and cut so that the whole SD-ID,
    /// `name@number`, has at most the 32 characters of an SD-NAME (21 or
    /// more remain for the name, as many as the enterprise number leaves).
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
            push_sd_id(&self.sd_name, self.enterprise_id, out);
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
        let message = record.message();
        if !message.is_empty() {
            out.push(b' ');
            // A collector reads these three bytes at the start of MSG as
            // the byte order mark of RFC 5424 §6.4, not as text.
            match message.strip_prefix('\u{feff}') {
                Some(rest) => {
                    out.extend_from_slice(b"\\u{feff}");
                    escape(rest, out);
                }
                None => escape(message, out),
            }
        }
    }
}

fn push_decimal(n: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}
