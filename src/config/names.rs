//! The names a config file may use, and what an unknown one is told: a
//! Python-only option gets what to do instead, a near miss the nearest
//! known name, spelt as the rest of the file spells its options.

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

/// How a document spells the options Python and this crate name
/// differently (`maxBytes` or `max_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spelling {
    Python,
    Ours,
    /// The document says neither: follow the unknown name's own look.
    Unknown,
}

/// The spelling of a document with these top-level keys.
fn spelling_of<'a>(keys: impl IntoIterator<Item = &'a str>) -> Spelling {
    let mut spelling = Spelling::Unknown;
    for key in keys {
        match key {
            "maxBytes" | "backupCount" | "chmod" => return Spelling::Python,
            "max_bytes" | "backup_count" | "file_mode" => spelling = Spelling::Ours,
            _ => {}
        }
    }
    spelling
}

/// The known option closest to `unknown`, if it is close enough to be a
/// slip of the keyboard (`backupcount`, `max_byte`, `fallback-mode`), in
/// the document's `spelling` where the option has two names.
fn nearest_option(unknown: &str, spelling: Spelling) -> Option<&'static str> {
    let folded = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
    let typed = folded(unknown);
    let known = KNOWN
        .iter()
        .map(|known| (strsim::jaro_winkler(&typed, &folded(known)), *known))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, known)| known)?;
    let python = match spelling {
        Spelling::Python => true,
        Spelling::Ours => false,
        Spelling::Unknown => !unknown.contains('_') && unknown.chars().any(char::is_uppercase),
    };
    Some(match (known, python) {
        ("maxBytes", false) => "max_bytes",
        ("backupCount", false) => "backup_count",
        ("max_bytes", true) => "maxBytes",
        ("backup_count", true) => "backupCount",
        (other, _) => other,
    })
}

/// Why a TOML document is not a config: the parser's message (with its
/// drawing of the line at fault), and a hint for an unknown option.
pub(super) fn toml_failure(error: &toml::de::Error, text: &str) -> String {
    let spelling = text
        .parse::<toml::Table>()
        .map_or(Spelling::Unknown, |table| {
            spelling_of(table.keys().map(String::as_str))
        });
    with_hint(&error.to_string(), spelling)
}

/// Why a JSON document is not a config: where, what, and a hint for an
/// unknown option.
pub(super) fn json_failure(error: &serde_json::Error, text: &str) -> String {
    let spelling = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
        .map_or(Spelling::Unknown, |map| {
            spelling_of(map.keys().map(String::as_str))
        });
    let message = error.to_string();
    // serde_json ends its message with the position; it goes first here,
    // as in TOML's.
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = message.strip_suffix(&suffix).unwrap_or(&message);
    with_hint(
        &format!(
            "JSON parse error at line {}, column {}: {message}",
            error.line(),
            error.column()
        ),
        spelling,
    )
}

/// `message`, with the list of every known option that follows an unknown
/// one replaced by what to do: the Python-only option's alternative, or
/// the nearest known name.
fn with_hint(message: &str, spelling: Spelling) -> String {
    const UNKNOWN: &str = "unknown field `";
    let message = message.trim_end();
    let Some(at) = message.find(UNKNOWN) else {
        return message.to_owned();
    };
    let name_at = at + UNKNOWN.len();
    let Some(name) = message[name_at..].split('`').next() else {
        return message.to_owned();
    };
    let hint = PYTHON_ONLY
        .iter()
        .find(|(python, _)| *python == name)
        .map(|(python, instead)| {
            format!(
                "{python} is a Python concurrent-log-handler option this crate does not take: \
                 {instead}"
            )
        })
        .or_else(|| nearest_option(name, spelling).map(|known| format!("did you mean `{known}`?")));
    let Some(hint) = hint else {
        return message.to_owned();
    };
    let name_end = name_at + name.len() + 1;
    let line_end = message[name_end..]
        .find('\n')
        .map_or(message.len(), |i| name_end + i);
    format!("{} ({hint}){}", &message[..name_end], &message[line_end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_get_the_nearest_option_in_the_files_spelling() {
        use Spelling::{Ours, Python, Unknown};
        let cases = [
            ("backupcount", Unknown, Some("backup_count")),
            ("backupcount", Python, Some("backupCount")),
            ("backupCont", Unknown, Some("backupCount")),
            ("backupCont", Ours, Some("backup_count")),
            ("max_byte", Unknown, Some("max_bytes")),
            ("maxbytes", Python, Some("maxBytes")),
            ("fallback-mode", Python, Some("fallback_mode")),
            ("sync_lvl", Unknown, Some("sync_level")),
            ("colour", Unknown, None),
        ];
        for (typed, spelling, want) in cases {
            assert_eq!(
                nearest_option(typed, spelling),
                want,
                "{typed} {spelling:?}"
            );
        }
    }

    #[test]
    fn a_files_spelling_is_that_of_its_keys() {
        assert_eq!(spelling_of(["filename", "maxBytes"]), Spelling::Python);
        assert_eq!(spelling_of(["max_bytes", "chmod"]), Spelling::Python);
        assert_eq!(spelling_of(["backup_count"]), Spelling::Ours);
        assert_eq!(spelling_of(["filename", "when"]), Spelling::Unknown);
    }
}
