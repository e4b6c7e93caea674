//! `Filter`'s directive parser: a filter whose `Display` parses back to
//! itself and whose `max_level` bounds what it lets through, or a typed
//! error; never a panic. Input: `directives 0xFF target 0xFF level`.
#![no_main]

use concurrent_log_handler::{Filter, Level};
use concurrent_log_handler_fuzz::parts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = parts(data);
    let directives = &parts[0];
    let target = parts.get(1).map_or("", String::as_str);
    let level = parts.get(2).and_then(|l| l.bytes().next()).unwrap_or(0);
    let filter = match directives.parse::<Filter>() {
        Ok(filter) => filter,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let shown = filter.to_string();
    let again: Filter = shown
        .parse()
        .unwrap_or_else(|e| panic!("{directives:?} shown as {shown:?}: {e}"));
    assert_eq!(again, filter, "{directives:?} shown as {shown:?}");
    let level = Level::ALL[usize::from(level) % Level::ALL.len()];
    if filter.enabled(target, level) {
        assert!(
            filter.max_level().is_some_and(|max| level >= max),
            "{directives:?}: {target:?} at {level} passes, max_level {:?}",
            filter.max_level()
        );
    }
});
