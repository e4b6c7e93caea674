//! Records per second into a real rsyslogd: the thread handler writing its
//! local file alone, and the same handler also forwarding to rsyslogd over
//! TCP and over RELP, side by side with the `syslog` crate writing the same
//! records over TCP, in one run.
//!
//! `cargo bench -p clh-benches --bench syslog` starts rsyslogd on 127.0.0.1
//! (the config of the tests: imtcp and imrelp, a direct queue, every message
//! written to a file as JSON) and, for each row, emits `SYSLOG_RECORDS`
//! records (default 50,000) from one thread: the ~100-byte event of the other
//! benches (`request served`, fields `seq` and `path`), as an RFC 5424
//! message for the collector. Two rates per row:
//!
//! - **sent**: until the last record was handed over — for the handler,
//!   until `flush` returned (`Confirmation::Both`: in the file, and over
//!   TCP written to the socket, over RELP acknowledged by rsyslogd); for the
//!   `syslog` crate, until its last `info` returned (it writes and flushes
//!   each message itself);
//! - **received**: until rsyslogd had written the last record to its file
//!   (for the file-only row, the same as sent).
//!
//! The `syslog` crate frames nothing over TCP, so its messages end in `\n`
//! for rsyslogd's LF framing; the sink uses octet counting (RFC 6587).
//! Rows run interleaved, `SYSLOG_ROUNDS` rounds (default 3); the median
//! round is reported, so the noise of a shared machine hits all rows alike.
//! `SYSLOG_RELP_WINDOW` sets the sink's RELP window (default 128, the
//! sink's default). Without rsyslogd the bench prints a note and exits.

mod common;
#[path = "../tests/it/rsyslog.rs"]
mod rsyslog;

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{MARKER, PATH_FIELD, env_u64, lines_in, record};
use concurrent_log_handler::format::Facility;
use concurrent_log_handler::{Confirmation, NonBlockingConcurrentHandler, SyslogConfig};

const ROWS: [&str; 4] = [
    "handler, file only",
    "handler, file + tcp://",
    "handler, file + relp://",
    "syslog crate tcp",
];

/// Counts the lines of a growing file, reading only what is new.
struct LineCounter {
    file: std::fs::File,
    lines: u64,
    buf: Vec<u8>,
}

impl LineCounter {
    fn open(path: &Path) -> LineCounter {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .expect("output file");
        LineCounter {
            file,
            lines: 0,
            buf: vec![0; 1 << 20],
        }
    }

    fn poll(&mut self) -> u64 {
        loop {
            let n = self.file.read(&mut self.buf).expect("read output");
            if n == 0 {
                return self.lines;
            }
            self.lines += self.buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }

    /// Empties the file (rsyslogd appends, so it goes on at the new end).
    fn reset(&mut self) {
        self.file.set_len(0).expect("truncate");
        self.file.seek(SeekFrom::Start(0)).expect("seek");
        self.lines = 0;
    }

    fn wait_for(&mut self, lines: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.poll() < lines {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }
}

fn config(url: String) -> SyslogConfig {
    SyslogConfig::new(url)
        .expect("valid URL")
        .facility(Facility::Local0)
        .app_name("bench")
        .hostname("bench-host")
}

/// Emits `n` records through the thread handler (forwarding to `url`, if
/// any); returns the seconds until `flush` returned.
fn run_handler(url: Option<String>, n: u64) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut builder = NonBlockingConcurrentHandler::builder(dir.path().join("app.log"))
        .max_bytes(10 << 20)
        .backup_count(100);
    if let Some(url) = url {
        builder = builder.syslog(
            config(url)
                .relp_window(env_u64("SYSLOG_RELP_WINDOW", 128) as usize)
                .confirmation(Confirmation::Both)
                .confirm_timeout(Duration::from_secs(120)),
        );
    }
    let (handler, guard) = builder.build().expect("handler");
    let started = Instant::now();
    for seq in 0..n {
        handler.emit(record(seq));
    }
    handler.flush().expect("flush");
    let secs = started.elapsed().as_secs_f64();
    drop(guard);
    let stats = handler.stats();
    assert_eq!(stats.written, n, "{stats}");
    assert_eq!(lines_in(dir.path()), n, "every record in the local file");
    secs
}

/// Sends `n` records with the `syslog` crate over TCP.
fn run_syslog_crate(port: u16, n: u64) -> f64 {
    let formatter = syslog::Formatter5424 {
        facility: syslog::Facility::LOG_LOCAL0,
        hostname: Some("bench-host".into()),
        process: "bench".into(),
        pid: std::process::id(),
    };
    let mut logger = syslog::tcp(formatter, ("127.0.0.1", port)).expect("syslog crate connects");
    let message = format!("{MARKER}\n");
    let started = Instant::now();
    for seq in 0..n {
        let mut params = BTreeMap::new();
        params.insert("seq".to_owned(), seq.to_string());
        params.insert("path".to_owned(), PATH_FIELD.to_owned());
        let mut data = BTreeMap::new();
        data.insert("fields@32473".to_owned(), params);
        logger
            .info((0u32, data, message.as_str()))
            .expect("syslog crate sends");
    }
    started.elapsed().as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    // `cargo test --benches` runs bench binaries without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env_u64("SYSLOG_RECORDS", 50_000);
    let rounds = env_u64("SYSLOG_ROUNDS", 3).max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let listeners = rsyslog::Listeners {
        relp: true,
        ..Default::default()
    };
    let Some(rsyslog) = rsyslog::Rsyslog::start(dir.path(), listeners) else {
        println!("syslog bench skipped: rsyslogd is not installed");
        return;
    };
    let mut output = LineCounter::open(&rsyslog.output());
    let mut sent: Vec<Vec<f64>> = vec![Vec::new(); ROWS.len()];
    let mut received: Vec<Vec<f64>> = vec![Vec::new(); ROWS.len()];
    for round in 0..rounds {
        for (row, name) in ROWS.iter().enumerate() {
            output.reset();
            let started = Instant::now();
            let secs = match row {
                0 => run_handler(None, n),
                1 => run_handler(Some(format!("tcp://127.0.0.1:{}", rsyslog.ports.tcp)), n),
                2 => run_handler(Some(format!("relp://127.0.0.1:{}", rsyslog.ports.relp)), n),
                _ => run_syslog_crate(rsyslog.ports.tcp, n),
            };
            let expected = if row == 0 { 0 } else { n };
            let all_in = output.wait_for(expected, Duration::from_secs(120));
            let total = started.elapsed().as_secs_f64();
            assert!(all_in, "{name}: rsyslogd received {} of {n}", output.poll());
            eprintln!("round {round} {name}: sent in {secs:.3} s, received in {total:.3} s");
            sent[row].push(secs);
            received[row].push(total);
        }
    }
    let rate = |secs: f64| n as f64 / secs;
    let base_sent = rate(median(sent[3].clone()));
    let base_received = rate(median(received[3].clone()));
    println!(
        "\nrecords/s into rsyslogd 8 on 127.0.0.1, {n} records per row, median of {rounds} rounds\n"
    );
    println!("| row | sent/s | vs syslog crate | received by rsyslogd/s | vs syslog crate |");
    println!("|---|---:|---:|---:|---:|");
    for (row, name) in ROWS.iter().enumerate() {
        let s = rate(median(sent[row].clone()));
        if row == 0 {
            println!("| {name} | {s:.0} | {:.2}× | — | — |", s / base_sent);
            continue;
        }
        let r = rate(median(received[row].clone()));
        println!(
            "| {name} | {s:.0} | {:.2}× | {r:.0} | {:.2}× |",
            s / base_sent,
            r / base_received
        );
    }
}
