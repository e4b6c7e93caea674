//! RELP frames as a collector sends them back (`rsp`, `serverclose`):
//! decoded whole or split anywhere, the same; every frame within its
//! limits and encoded back to itself; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte says how the rest arrives: in pieces of 1 to 16 bytes.
    let Some((&piece, wire)) = data.split_first() else {
        return;
    };
    let piece = usize::from(piece % 16) + 1;
    if let Err(broken) = concurrent_log_handler::fuzzing::relp_frames(wire, piece) {
        panic!("{broken}");
    }
});
