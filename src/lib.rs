//! Many processes, threads and tokio tasks logging into the same rotating
//! files, without blocking the code that logs, without losing or tearing a
//! line, and with proof of delivery when the caller asks for it.
//!
//! Writers share a log through an advisory lock (`flock`) taken once per
//! batch; the lock file, the rollover rule and the backup names are those of
//! Python's `concurrent-log-handler`, so Python and Rust processes can write
//! one log at once (see `PROTOCOL.md` in the repository).
//!
//! ```
//! use concurrent_log_handler::{AsyncConcurrentHandler, Level, Record};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let handler = AsyncConcurrentHandler::builder(dir.path().join("app.log"))
//!     .max_bytes(10 << 20) // rotate at 10 MiB
//!     .backup_count(5) // app.log.1 … app.log.5
//!     .build()?;
//! handler.emit(Record::new(Level::Info, "started").with_field("port", 8080));
//! handler.emit_wait(Record::new(Level::Warn, "config reloaded")).await?; // on disk now
//! handler.shutdown().await?;
//! let log = std::fs::read_to_string(dir.path().join("app.log"))?;
//! assert!(log.contains(" INFO ") && log.contains("started port=8080"));
//! assert_eq!(log.lines().count(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! # Which handler
//!
//! | handler | for | `emit` costs the caller |
//! |---|---|---|
//! | [`AsyncConcurrentHandler`] | tokio services (axum, actix, …) | a push into a bounded queue (the writer thread formats); never awaits |
//! | [`NonBlockingConcurrentHandler`] | code without a tokio runtime: CLIs, sync services, libraries; a [`WriterGuard`] drains it on drop | the same queue and writer thread |
//! | [`ConcurrentRotatingFileHandler`] | scripts, tools, your own front-end | lock + write in the caller |
//!
//! The queued handlers share one grammar: [`emit`](AsyncConcurrentHandler::emit)
//! logs and applies the [`FallbackMode`] when the queue is full,
//! `try_emit` never waits and hands the record back, `emit_wait` returns
//! once the record is on disk (awaited, or blocking on the thread handler),
//! `flush` waits for what was accepted, `stats` counts ([`Stats`]). Records
//! at or above `sync_level` are written before `emit` returns, after the
//! caller's earlier records. Every handler's builder takes the same file
//! options: `max_bytes`, `backup_count`, `rotate_every` ([`Rotation`]),
//! `compression` ([`Compression`], in the background), `max_age`,
//! `durable`, `lock_file_directory`, `file_mode`, `formatter`.
//!
//! # Modules and features
//!
//! - [`format`](mod@format): how a [`Record`] becomes a line: [`TextFormatter`](format::TextFormatter),
//!   [`JsonFormatter`](format::JsonFormatter) (feature `json`), your own
//!   [`Formatter`](format::Formatter).
//! - [`integrations`]: a `tracing` layer and `fmt` writer (feature
//!   `tracing`), a `log` backend (feature `log`).
//! - [`config`](config/index.html): settings from TOML or JSON with Python
//!   CLH's option names (feature `config`).
//! - [`SyslogConfig`](struct.SyslogConfig.html) (feature `syslog`, TLS with
//!   `tls`): RFC 5424 messages for a central collector.
//! - Features `gzip` and `zstd` bring the codecs of compressed backups.
//!
//! The default features are `gzip`, `tracing`, `log` and `json`, all pure
//! Rust; `zstd`, `config`, `syslog` and `tls` are opt-in (`zstd` and `tls`
//! build C). `default-features = false` builds the handlers, the text format
//! and nothing else.
//!
//! # Guarantees
//!
//! What a reader of the files can rely on, and the test that holds the
//! crate to each claim (under `tests/it/` in the repository).
//!
//! **Never lost**
//!
//! | guarantee | test |
//! |---|---|
//! | `emit_wait` succeeds only once its record is in the file; with `durable(true)` also synced, and a failed sync fails it | `emit_wait::emit_wait_resolves_only_once_the_line_is_in_the_file`, `regression::a_failed_sync_fails_emit_wait_and_flush_and_counts_a_write_error` |
//! | a waiting caller that writes its own record (alone, on an idle handler) never passes a record queued before it, and leaves a lock held elsewhere, a rotation and a `durable` sync to the writer thread | `emit_wait::a_record_its_caller_writes_never_passes_records_queued_before_it`, `emit_wait::the_thread_handlers_waiting_callers_keep_their_order_too`, `emit_wait::an_idle_handlers_waiting_caller_writes_its_own_record_unless_that_would_block` |
//! | records at or above `sync_level` are in the file when `emit` returns, after the caller's earlier records | `fallback::records_at_or_above_sync_level_are_written_before_emit_returns`, `nonblocking::records_at_or_above_sync_level_are_written_before_emit_returns` |
//! | `Block` (the thread handler's default) loses nothing under overload, and each producer's records are in the order it emitted them | `fallback::block_mode_loses_nothing_under_overload`, `regression::block_mode_keeps_each_tasks_records_in_order_when_the_queue_overflows`, `regression::fallback_on_full_keeps_each_threads_records_in_order` |
//! | `shutdown`, `stop` and dropping a [`WriterGuard`] (the thread handler's, or [`AsyncConcurrentHandler::guard`]) write everything accepted before them and let compressions finish; every `shutdown`, concurrent or later, returns only then | `lifecycle::shutdown_writes_everything_accepted_and_closes_every_clone`, `nonblocking::dropping_the_guard_writes_everything_accepted`, `lifecycle::dropping_the_async_guard_shuts_the_handler_down_after_the_runtime`, `regression::concurrent_shutdowns_each_return_after_the_drain_and_the_compressions` |
//! | a record emitted while another thread stops the handler is written, or refused and counted; a flush racing a stop returns; `start` after any stop gives a working handler | `regression::emits_and_flushes_racing_stop_are_written_or_refused_never_stranded`, `regression::start_after_a_timed_out_stop_gives_a_working_handler` |
//! | many processes (Rust and Python CLH alike) on one rotating log: every record exactly once, no torn or interleaved line | `multiprocess::*`, `interop_python::*` |
//! | compressed backups: every record exactly once, the numbered chain in rotation order, and after a normal exit no plain backup or temporary file left | `compression::processes_compressing_at_once_keep_every_record_once_and_the_chain_in_order`, `compression::a_process_that_simply_ends_leaves_its_backups_compressed` |
//! | a record is never split across files; a file exceeds `max_bytes` only by a single oversized record | `rotation::a_batch_straddling_rotations_is_split_only_between_lines`, `rotation::a_record_larger_than_max_bytes_goes_alone_into_a_fresh_file` |
//! | a failed write (disk full, size limit, a short write) keeps the lines it wrote whole (counted as written) and leaves no partial line: cut back, finished, or nothing more written until it can be cut; the lines it could not write are written again by themselves once the fault clears, before any record that came after them (a `rotate_now` between included) | `faults::a_full_disk_fails_typed_without_torn_lines_and_resumes_when_space_is_freed`, `regression::lines_kept_after_a_failed_write_are_retried_without_new_records`, `injected::short_writes_with_a_failing_ftruncate_leave_no_torn_or_duplicated_line`, `regression::lines_kept_after_a_failed_write_stay_before_records_that_follow_a_rotation` |
//! | a rotation cut short (a writer killed, a failed `rename` or `unlink`) is finished under the lock at the next start or rotation of any writer: its lines go into the backups, oldest first, compressed when compression is on; counted in [`Stats::orphans_recovered`] | `orphans::*`, `crash::writers_killed_80_times_mid_rotation_leave_no_orphan_after_the_next_start` |
//! | under injected I/O faults (failed or short `write`, `fdatasync`, `rename`, `unlink`, `open`, `ftruncate`), several processes, size or time rotation, plain or gzip: a record whose caller got `Ok` is there exactly once, none is torn or duplicated, each producer's order is kept, `Stats` matches the disk, every handler recovers by itself and nothing is left outside the backups | `injected::processes_sharing_a_log_under_injected_io_faults_lose_tear_and_duplicate_nothing`, `orphans::a_plain_copy_left_beside_its_archive_never_becomes_a_second_backup` |
//! | records queued when their tokio runtime shuts down are still written | `regression::records_queued_when_the_runtime_shuts_down_are_still_written` |
//! | records queued when `std::process::exit` is called are written by an exit hook, unless it cannot get the lock within two seconds (then they are counted and said) | `lifecycle::process_exit_with_records_queued_writes_them_all`, `lifecycle::process_exit_while_the_lock_is_held_says_how_many_records_were_lost` |
//! | a handler inherited through `fork()` works in the child, even forked while its writer renders its first timestamp | `regression::both_queued_handlers_work_in_a_forked_child_with_compression`, `regression::a_fork_while_the_writer_formats_its_first_record_leaves_a_working_child`, `crash::a_forked_child_reopens_the_lock_and_never_writes_beside_its_parent` |
//! | one record is one line of UTF-8, whatever it contains: text, JSON, RFC 5424, timestamp patterns, the `tracing` fmt writer | `hostile::*`, `json::*`, `integrations::fmt_writer::*`; fuzz targets `formatters`, `timestamp_pattern`, `fmt_writer` (`fuzz/`) |
//! | `fmt().json().with_writer(handler)` lines parse as JSON with the original text; plain `fmt` lines are byte for byte what tracing-appender writes, unless a raw line break had to be escaped | `integrations::fmt_writer::fmt_json_through_the_handler_parses_with_the_original_text`, `integrations::fmt_writer::fmt_text_through_the_handler_is_byte_for_byte_what_tracing_appender_writes` |
//! | syslog messages pass a strict RFC 5424 check: SD-ID and names within 32 characters, PARAM-VALUE escaping, no BOM at the start of MSG | `hostile::syslog_sd_ids_fit_32_characters_and_a_leading_bom_is_escaped`, fuzz target `formatters` |
//!
//! **May be lost, and always counted**
//!
//! | when | what | where it shows |
//! |---|---|---|
//! | `Drop` mode, queue full | the record | [`Stats::dropped`], and a `WARNING` line in the log with the count |
//! | `Nowait` mode, queue full and `nowait_limit` writes in flight | the record (records that do go to the blocking pool may land out of order) | `Stats::dropped` |
//! | after `shutdown` or `stop` | the record (`try_emit` and `emit_wait` say `Closed`) | `Stats::dropped` |
//! | a write fails | an `emit_wait` record (its caller gets the error and decides); fire-and-forget records are kept (up to 10,000) and written again | [`Stats::failed`], [`Stats::write_errors`] |
//! | the formatter panics | that record | `Stats::failed`, and a report |
//! | `Nowait` records handed over after their tokio runtime shut down | the record | `Stats::dropped`, and once per handler on stderr |
//! | `std::process::exit` without `shutdown`, `stop` or the guard | nothing, if an exit hook's flush of at most two seconds per handler writes it all; otherwise the rest | `Stats::dropped`, and on stderr with the count and the log's path |
//! | forwarding: the sink's buffer is full (`WhenFull`), or a stop, shutdown or the exit hook reaches its deadline first | the record, at the collector only (the local file has it) | [`SinkStats::dropped`], a `WARNING` line in the log, and the `DeliveryTimeout` a stop or shutdown returns (on stderr where none is returned) |
//! | an abort or SIGKILL | records still queued (at most `queue_capacity`) | — |
//!
//! After a flush, `emitted == written + dropped + failed`.
//!
//! **Forwarding to a collector** (feature `syslog`; `SyslogConfig` has
//! the table of what each call waits for and what bounds it)
//!
//! | guarantee | test |
//! |---|---|
//! | the local file never waits on the network: each batch is written first, then offered to the sink, whose full buffer drops (or waits a bounded time) by its own policy, never the handler's | `forwarding::a_block_mode_handler_writes_every_record_whatever_the_collector_does`, `chaos::the_collector_killed_frozen_restarted_unreachable_or_stalled_never_breaks_a_promise` |
//! | `sync_level` records are in the file when `emit` returns, whatever the `Confirmation` | `forwarding::sync_level_means_in_the_file_whatever_the_confirmation` |
//! | `emit_wait` and `flush` wait for what the `Confirmation` names; each wait for the collector ends by `confirm_timeout` with `DeliveryTimeout` naming the collector and what it has not delivered | `forwarding::flush_waits_for_the_collector_the_confirmation_names`, `forwarding::emit_wait_for_a_collector_that_is_away_ends_by_the_confirm_timeout` |
//! | `stop`, `shutdown`, the guards, a dropped blocking handler and the exit hook close the sink by their deadline; what it could not deliver is counted as dropped and said (in the returned error, or on stderr) | `forwarding::a_collector_that_never_answers_open_is_given_up_at_the_deadline`, `forwarding::tcp_shutdown_waits_for_the_collectors_kernel_and_counts_the_rest`, `forwarding::process_exit_delivers_what_the_sink_holds_or_says_what_it_could_not`, `forwarding::the_blocking_handler_flushes_and_closes_its_sink` |
//! | RELP: a confirmed record is at the collector; what it did not acknowledge before a break is sent again | `chaos::*` (RELP rows), the sink's own tests in `src/net/tests/` |
//! | TCP: after a write that breaks part-way, only what the collector's kernel did not acknowledge is sent again; `sent - resent` counts distinct records | `net::tests::partial_write::a_tcp_write_that_fails_part_way_resends_only_what_was_not_acknowledged` (in `src/net/tests/`) |
//! | every record offered to the sink is in exactly one place at every snapshot: `accepted == delivered + failed + dropped + buffered + in_flight` ([`SinkStats::adds_up`]); what the collector lacks is counted (exactly over RELP) | `chaos::*` (a watcher thread checks every snapshot), `net::sink::ledger::tests::*` |
//! | a message longer than `max_message_size` is cut, marked and counted, and never breaks the session | `forwarding::an_oversized_message_is_truncated_and_the_session_goes_on` |
//! | a new outage starts its backoff over: a collector that flapped is reached again within a step | `forwarding::after_the_collector_flapped_a_healthy_one_is_reached_again_at_once` |
//!
//! **What a crash can leave**
//!
//! - A writer killed mid-write: every record of a batch whose call returned
//!   is on disk exactly once; its last line may be torn, and the next writer
//!   ends a torn line with `\n` before appending, so no other line is damaged
//!   (`crash::a_writer_killed_mid_batch_loses_at_most_its_unfinished_batch`,
//!   `faults::a_torn_last_line_left_by_a_killed_writer_is_ended_before_ours`).
//! - Killed inside a rotation: the rotated data stays as
//!   `app.log.rotate.<N>` only until the next start or rotation of any
//!   writer of this crate, which puts it into the backups; nothing is ever
//!   deleted (`crash::a_writer_killed_mid_rotation_leaves_every_finished_record_on_disk`,
//!   `crash::writers_killed_80_times_mid_rotation_leave_no_orphan_after_the_next_start`).
//! - Killed while compressing: the backup stays, plain and whole, at its place
//!   in the chain, and the next start (or rotation) compresses it; there is
//!   never a partial archive under a final name
//!   (`compression::a_compression_killed_midway_is_finished_by_the_next_start`).
//!
//! **Shared files**
//!
//! - A lock file deleted or replaced while running is followed: the lock is
//!   only ever held on the file the path names
//!   (`faults::a_deleted_lock_file_is_recreated_and_every_writer_follows_it`,
//!   `faults::a_replaced_lock_file_is_followed`).
//! - External rotation (`mv app.log app.log.old`, copytruncate) is noticed on
//!   the next batch (`rotation::a_log_moved_away_by_logrotate_is_reopened_at_the_path`,
//!   `faults::copytruncate_is_noticed_and_writing_goes_on_at_the_start`).
//! - Retention only touches regular files with the log's exact backup names,
//!   compared as bytes: a foreign file is never deleted, even when a name
//!   is not UTF-8 (`timed::age_retention_ignores_foreign_names_and_files_it_cannot_examine`,
//!   `timed::retention_compares_names_as_bytes_and_never_deletes_a_foreign_file`).
//! - Threat model: anyone who can write into the log directory can delete or
//!   rewrite logs; directory permissions are the boundary. What the crate
//!   prevents is being tricked into writing elsewhere through names it
//!   creates: the lock file is opened with `O_NOFOLLOW`, backups are made by
//!   `rename`, temporary files are created exclusively
//!   (`faults::a_symlink_planted_at_the_lock_path_is_not_followed`). The log
//!   path itself is followed if it is a symlink, on purpose.
//!
//! **Never a panic, never a hidden error**
//!
//! - Bad settings are a typed [`Error`] at build, before any file is opened,
//!   naming the setting: hostile numbers in a config (periods beyond 100
//!   years), syslog hosts no resolver takes, timestamp patterns that would
//!   write a control character
//!   (`regression::a_queue_capacity_beyond_the_limit_is_refused_before_any_file_is_opened`,
//!   `rotation::bad_configuration_and_paths_give_typed_errors_naming_the_path`,
//!   `config::hostile_numbers_are_refused_naming_their_option_before_any_file_is_opened`,
//!   `syslog::syslog_config_refuses_urls_it_cannot_use`,
//!   `hostile::timestamp_patterns_never_break_a_line_or_panic`).
//! - An error says what failed, where (the path, quoted), why (the OS
//!   cause, or what stands in the way: a missing directory, a file where a
//!   directory must be, permissions) and what to do; its `Debug` is its
//!   message
//!   (`messages::each_first_hour_error_says_what_failed_where_why_and_what_to_do`,
//!   `messages::permission_errors_blame_the_file_or_the_directory_that_refuses`).
//! - A panicking formatter, logging from a thread-local's destructor, a
//!   runtime that is gone: logging goes on
//!   (`regression::a_panicking_formatter_loses_only_its_record_and_never_the_writer`,
//!   `regression::logging_from_a_thread_local_destructor_neither_aborts_nor_loses_records`).
//! - Errors no caller receives are reported at most once a second, once
//!   each: to the handler's `on_error` hook, else through `tracing`, else on
//!   stderr, also when the crate's own tracing integration is the only
//!   subscriber
//!   (`regression::write_errors_reach_stderr_when_our_tracing_integration_is_the_only_subscriber`,
//!   `reports::the_hook_receives_the_errors_and_nothing_reaches_stderr`,
//!   `reports::with_the_crates_layer_and_a_stderr_fmt_layer_each_error_is_reported_once`,
//!   `reports::a_report_on_stderr_counts_the_errors_held_back_only_when_there_are_some`).
//! - Each failure is answered once: to the caller waiting for the line, or,
//!   for lines nobody waited for, by the next `flush`, `stop` or `shutdown`
//!   (`injected::a_sync_error_its_caller_was_told_of_does_not_resurface_at_stop`);
//!   each report on stderr is one line
//!   (`injected::reports_on_stderr_stay_one_per_line_through_short_and_failing_writes`).
//!
//! # Platforms
//!
//! Unix; Linux is tested. The lock is `flock(2)` and files are identified by
//! `(dev, ino)`.

#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// The lock is flock(2) and a rotated file is recognised by (dev, ino): both
// are Unix. Say so plainly rather than fail deep inside a dependency.
#[cfg(not(unix))]
compile_error!(
    "concurrent-log-handler runs on Unix only: it locks with flock(2) and identifies \
     files by (dev, ino), as Python's concurrent-log-handler does on Linux"
);

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The deployment guide's examples, compiled as doctests.
#[cfg(all(doctest, feature = "syslog"))]
#[doc = include_str!("../DEPLOYMENT.md")]
pub struct DeploymentDoctests;

mod buffers;
mod clock;
#[cfg(feature = "config")]
pub mod config;
mod confirm;
mod error;
mod file;
mod filter;
mod fork;
pub mod format;
mod forward;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod handler;
pub mod integrations;
#[cfg(feature = "syslog")]
mod net;
mod pool;
mod queue;
mod record;
mod report;
mod rest;
mod stats;
mod sync;
mod writer;

pub use clock::{Clock, SystemClock};
pub use error::{Error, ErrorKind, Result};
pub use file::{
    Compression, DEFAULT_BACKUP_COUNT, DEFAULT_FILE_MODE, DEFAULT_MAX_BYTES, Rotation, Weekday,
};
pub use filter::{DEFAULT_FILTER_ENV, Filter, ParseFilterError, ParseFilterErrorKind};
#[cfg(feature = "syslog")]
pub use forward::{Confirmation, DEFAULT_CONFIRM_TIMEOUT, SyslogConfig};
pub use handler::asynchronous::{
    AsyncConcurrentHandler, AsyncConcurrentHandlerBuilder, DEFAULT_ASYNC_FALLBACK_MODE,
    DEFAULT_ASYNC_SYNC_LEVEL, DEFAULT_NOWAIT_LIMIT, DEFAULT_QUEUE_CAPACITY, MAX_NOWAIT_LIMIT,
};
pub use handler::builder;
pub use handler::nonblocking::{
    DEFAULT_THREAD_FALLBACK_MODE, DEFAULT_THREAD_SYNC_LEVEL, NonBlockingConcurrentHandler,
    NonBlockingConcurrentHandlerBuilder, create_nonblocking_handler,
};
pub use handler::{
    ConcurrentRotatingFileHandler, ConcurrentRotatingFileHandlerBuilder, DEFAULT_STOP_TIMEOUT,
    FallbackMode, ParseFallbackModeError, TryEmitError, WriterGuard,
};
#[cfg(feature = "syslog")]
pub use net::{
    DEFAULT_ACK_TIMEOUT, DEFAULT_BUFFER_CAPACITY, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_RELP_WINDOW, WhenFull,
};
pub use queue::MAX_QUEUE_CAPACITY;
pub use record::{Fields, Level, ParseLevelError, Record, Span, Spans, Value};
pub use stats::{SinkStats, Stats};
