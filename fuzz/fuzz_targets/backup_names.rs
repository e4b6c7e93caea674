//! The backup names retention reads (`app.log.<N>`, `app.log.<period>[.k]`):
//! only the exact names the crate writes are read as backups, and every
//! name it writes is read back as its period and counter; never a panic.
//! Input: `name after "app.log." 0xFF rollover time 0xFF counter`.
#![no_main]

use concurrent_log_handler_fuzz::parts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = parts(data);
    let rollover_at: i64 = parts
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_795_421_257);
    let counter: u32 = parts.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    if let Err(broken) =
        concurrent_log_handler::fuzzing::backup_names(&parts[0], rollover_at, counter)
    {
        panic!("{broken}");
    }
});
