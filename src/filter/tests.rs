//! What a filter lets through, how it prints, and what it refuses.

use super::*;
use Level::*;

fn parse(spec: &str) -> Filter {
    spec.parse()
        .unwrap_or_else(|e| panic!("{spec:?} should parse: {e}"))
}

/// `(filter, target, level, passes)`.
const ENABLED: &[(&str, &str, Level, bool)] = &[
    // No directive at all: `error`, as env_logger.
    ("", "app", Error, true),
    ("", "app", Critical, true),
    ("", "app", Warn, false),
    (" , ,", "app", Warn, false),
    ("", "app", Error, true),
    // A bare level is the default for every target.
    ("info", "app", Info, true),
    ("info", "app", Debug, false),
    ("INFO", "", Info, true),
    ("Warning", "x", Warn, true),
    ("fatal", "x", Error, false),
    ("critical", "x", Critical, true),
    ("off", "x", Critical, false),
    ("OFF", "x", Critical, false),
    // The last bare level counts.
    ("info,debug", "x", Debug, true),
    ("debug,info", "x", Debug, false),
    // A bare target: every level for it, nothing for the rest.
    ("app", "app", Trace, true),
    ("app", "app::db", Trace, true),
    ("app", "other", Critical, false),
    ("app=", "app::x", Trace, true),
    // Longest match wins, at `::` boundaries only.
    ("info,app::db=debug", "app::db", Debug, true),
    ("info,app::db=debug", "app::db::pool", Debug, true),
    ("info,app::db=debug", "app::dbx", Debug, false),
    ("info,app::db=debug", "app::dbx", Info, true),
    ("info,app::db=debug", "app", Debug, false),
    ("app=warn,app::db=trace", "app::db::x", Trace, true),
    ("app::db=trace,app=warn", "app::db::x", Trace, true),
    ("app=warn,app::db=trace", "app::x", Info, false),
    ("app::db=off,app=trace", "app::db", Critical, false),
    ("app::db=off,app=trace", "app::db2", Trace, true),
    // Without a default, unmatched targets are off.
    ("app=debug", "other", Critical, false),
    ("app=debug", "", Critical, false),
    // A trailing `::` matches submodules only, as in env_logger.
    ("tokio::=info", "tokio::net", Info, true),
    ("tokio::=info", "tokio", Critical, false),
    ("tokio::=info", "tokio_util", Critical, false),
    // The last directive for a target counts.
    ("app=info,app=error", "app", Warn, false),
    ("app=error,app=info", "app", Info, true),
    // Spaces and case in level names.
    (" app = debug , warn ", "app", Debug, true),
    (" app = debug , warn ", "web", Info, false),
    ("app=DeBuG", "app", Debug, true),
    // An empty target is the default (env_logger: every target starts with "").
    ("=debug", "x", Debug, true),
    ("info,=debug", "x", Debug, true),
    ("=debug,info", "x", Debug, false),
    // `error` passes `Critical` too; `critical` only that.
    ("error", "x", Critical, true),
    ("app=critical", "app", Error, false),
    ("app=critical", "app", Critical, true),
    // Targets are case-sensitive.
    ("App=trace", "app", Trace, false),
];

#[test]
fn directives_enable_what_env_logger_enables() {
    for &(spec, target, level, expected) in ENABLED {
        assert_eq!(
            parse(spec).enabled(target, level),
            expected,
            "{spec:?} for {target:?} at {level:?}"
        );
    }
}

#[test]
fn every_filter_round_trips_through_display() {
    for &(spec, ..) in ENABLED {
        let filter = parse(spec);
        let shown = filter.to_string();
        assert_eq!(parse(&shown), filter, "{spec:?} shown as {shown:?}");
        assert_eq!(parse(&shown).to_string(), shown);
    }
}

#[test]
fn display_is_canonical() {
    let cases = [
        ("", "error"),
        ("off", "off"),
        ("app=debug", "off,app=debug"),
        ("app", "off,app=trace"),
        ("warning", "warn"),
        ("fatal", "critical"),
        ("b=info, a=warn ,info", "info,a=warn,b=info"),
        ("app=info,app=off", "off,app=off"),
    ];
    for (spec, shown) in cases {
        assert_eq!(parse(spec).to_string(), shown, "{spec:?}");
    }
}

#[test]
fn max_level_is_the_most_verbose_level_any_directive_passes() {
    let cases = [
        ("", Some(Error)),
        ("off", None),
        ("off,app=off", None),
        ("critical", Some(Critical)),
        ("warn,app::db=debug", Some(Debug)),
        ("trace,app=off", Some(Trace)),
        ("app", Some(Trace)),
        ("app=info,web=warn", Some(Info)),
    ];
    for (spec, max) in cases {
        assert_eq!(parse(spec).max_level(), max, "{spec:?}");
    }
}

#[test]
fn bad_directives_are_errors_naming_the_directive() {
    let cases = [
        ("app=loud", ParseFilterErrorKind::UnknownLevel, "app=loud"),
        (
            "info, app::db = verbose ,x",
            ParseFilterErrorKind::UnknownLevel,
            "app::db = verbose",
        ),
        ("app=3", ParseFilterErrorKind::UnknownLevel, "app=3"),
        (
            "app=info=debug",
            ParseFilterErrorKind::ExtraEquals,
            "app=info=debug",
        ),
        ("a=b=c,d=e=f", ParseFilterErrorKind::ExtraEquals, "a=b=c"),
        (
            " info/sql ",
            ParseFilterErrorKind::MessageFilter,
            "info/sql",
        ),
        ("a/b/c", ParseFilterErrorKind::MessageFilter, "a/b/c"),
    ];
    for (spec, kind, directive) in cases {
        let err = spec
            .parse::<Filter>()
            .expect_err(&format!("{spec:?} should fail"));
        assert_eq!(err.kind(), kind, "{spec:?}");
        assert_eq!(err.directive(), directive, "{spec:?}");
        assert_eq!(err.var(), None);
        let shown = err.to_string();
        assert!(shown.contains(directive), "{shown}");
        assert!(!shown.ends_with('.'), "{shown}");
    }
}

#[test]
fn errors_from_the_environment_name_the_variable() {
    let err = "x=y".parse::<Filter>().unwrap_err().in_var("RUST_LOG");
    assert_eq!(err.var(), Some("RUST_LOG"));
    assert!(
        err.to_string()
            .starts_with("RUST_LOG: invalid log filter directive \"x=y\"")
    );
}

#[test]
fn an_unset_variable_gives_the_default() {
    let var = "CLH_UNIT_TEST_FILTER_NEVER_SET";
    assert_eq!(Filter::from_env(var), Ok(Filter::default()));
    assert_eq!(
        Filter::from_env_or(var, Level::Debug),
        Ok(Filter::from_level(Debug))
    );
}
