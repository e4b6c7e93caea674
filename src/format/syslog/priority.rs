//! The two halves of a message's PRI (RFC 5424 §6.2.1): the [`Facility`]
//! it comes from and the [`severity`] of its level, PRI being
//! facility × 8 + severity.

use std::fmt;
use std::str::FromStr;

use crate::record::Level;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
