//! The names a config file may use, and what an unknown one is told: a
//! Python-only option gets what to do instead, a near miss the nearest
//! known name.

use crate::error::Error;

/// Python CLH options this crate does not take, with what to do instead; an
/// unknown-field error naming one of them gets this hint.
const PYTHON_ONLY: &[(&str, &str)] = &[
    ("mode", "the log is always opened for appending"),
    ("encoding", "lines are always UTF-8"),
    ("errors", "lines are always valid UTF-8"),
    ("unicode_error_policy", "lines are always valid UTF-8"),
    (
        "delay",
        "the file is always opened when the handler is built",
    ),
    (
        "debug",
        "write errors are reported through `tracing` or stderr",
    ),
    (
        "owner",
        "files are created by the running user; chown them yourself",
    ),
    ("umask", "the process umask applies to file_mode"),
    ("newline", "lines always end in \\n"),
    ("terminator", "lines always end in \\n"),
];

/// Every option a config takes, under each of its names.
const KNOWN: &[&str] = &[
    "filename",
    "max_bytes",
    "maxBytes",
    "backup_count",
    "backupCount",
    "use_gzip",
    "compression",
    "when",
    "interval",
    "max_age_seconds",
    "lock_file_directory",
    "file_mode",
    "chmod",
    "create_dirs",
    "durable",
    "queue_capacity",
    "fallback_mode",
    "fallback_on_full",
    "sync_level",
    "level",
    "filter",
    "utc",
    "format",
    "syslog",
];

/// The known option closest to `unknown`, if it is close enough to be a
/// slip of the keyboard (`backupcount`, `max_byte`, `fallback-mode`).
fn nearest_option(unknown: &str) -> Option<&'static str> {
    let folded = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
    let typed = folded(unknown);
    KNOWN
        .iter()
        .map(|known| (strsim::jaro_winkler(&typed, &folded(known)), *known))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, known)| {
            // Of a pair of names, suggest the spelling the user's resembles.
            if unknown.contains('_') || !unknown.chars().any(char::is_uppercase) {
                match known {
                    "maxBytes" => "max_bytes",
                    "backupCount" => "backup_count",
                    other => other,
                }
            } else {
                known
            }
        })
}

pub(super) fn parse_error(format: &str, message: &str) -> Error {
    let unknown = message
        .split("unknown field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next());
    let python_only = PYTHON_ONLY
        .iter()
        .find(|(name, _)| unknown == Some(*name))
        .map(|(name, instead)| {
            format!(" ({name} is a Python concurrent-log-handler option this crate does not take: {instead})")
        });
    let suggestion = unknown
        .and_then(nearest_option)
        .map(|known| format!(" (did you mean `{known}`?)"));
    let hint = python_only.or(suggestion).unwrap_or_default();
    Error::invalid_config(format!(
        "cannot read {format} config: {}{hint}",
        message.trim_end()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_get_the_nearest_option_in_their_own_spelling() {
        let cases = [
            ("backupcount", Some("backup_count")),
            ("backupCont", Some("backupCount")),
            ("max_byte", Some("max_bytes")),
            ("fallback-mode", Some("fallback_mode")),
            ("sync_lvl", Some("sync_level")),
            ("colour", None),
        ];
        for (typed, want) in cases {
            assert_eq!(nearest_option(typed), want, "{typed}");
        }
    }
}
