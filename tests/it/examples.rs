//! The `tracing_stderr_and_file` and `json_service` examples, run and
//! judged by what lands in their outputs.
//!
//! The tracing example installs the global subscriber and writes to
//! stderr, so it runs in a child process (`child::entry` calls
//! [`tracing_example_child`]) whose stderr the test reads. The JSON service
//! installs nothing global: its `run` is called here, in a runtime of its
//! own.

#[cfg(feature = "tracing")]
#[allow(dead_code)] // its `main` is for `cargo run --example tracing_stderr_and_file`
#[path = "../../examples/tracing_stderr_and_file.rs"]
mod tracing_example;

#[cfg(feature = "json")]
#[allow(dead_code)] // its `main` is for `cargo run --example json_service`
#[path = "../../examples/json_service.rs"]
mod json_service_example;

#[cfg(feature = "tracing")]
mod tracing_stderr_and_file {
    use std::path::PathBuf;

    use super::tracing_example as example;
    use crate::util::{TempLog, all_lines, parse_line, spawn_child_capturing_stderr};

    #[test]
    fn the_file_gets_debug_with_spans_and_stderr_gets_info_and_up() {
        let log = TempLog::new();
        let settings = [
            ("CLH_LOG", log.path.display().to_string()),
            // No colours on stderr, should a build enable tracing-subscriber's `ansi`.
            ("NO_COLOR", "1".to_owned()),
        ];
        let child = spawn_child_capturing_stderr("tracing_example", &settings);
        let pid = child.id();
        let out = child.wait_with_output().expect("wait for the child");
        let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
        assert!(
            out.status.success(),
            "the example failed: {}\n{}\n{stderr}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );

        // The file: the DEBUG records of the program's targets with their
        // spans (the DEBUG `query` span too), not the dependency's DEBUG one.
        let file: Vec<String> = all_lines(&log.path)
            .iter()
            .map(|line| {
                let line = parse_line(line); // checks the timestamp's shape
                assert_eq!(line.pid, pid, "written by the example's process");
                format!("{} {}", line.level, line.rest)
            })
            .collect();
        assert_eq!(
            file,
            [
                "INFO app: starting version=1.2.0",
                "DEBUG request{req_id=7 method=GET}: app::http: request received path=/orders",
                "DEBUG request{req_id=7 method=GET}:query{table=orders}: app::db: rows fetched rows=3",
                "INFO request{req_id=7 method=GET}: app::http: request served status=200",
                "DEBUG request{req_id=8 method=GET}: app::http: request received path=/orders",
                "DEBUG request{req_id=8 method=GET}:query{table=orders}: app::db: rows fetched rows=3",
                "INFO request{req_id=8 method=GET}: app::http: request served status=200",
                "WARNING hyper: connection reset peer=10.0.0.9:4711",
                "INFO app: stopping",
            ]
        );

        // stderr: fmt's format, INFO and up only, without the DEBUG span.
        let shown: Vec<&str> = stderr
            .lines()
            .map(|line| {
                let (timestamp, rest) = line
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("no timestamp in {line:?}"));
                assert!(timestamp.ends_with('Z'), "{line:?}");
                rest.trim_start()
            })
            .collect();
        assert_eq!(
            shown,
            [
                "INFO app: starting version=\"1.2.0\"",
                "INFO request{req_id=7 method=\"GET\"}: app::http: request served status=200",
                "INFO request{req_id=8 method=\"GET\"}: app::http: request served status=200",
                "WARN hyper: connection reset peer=\"10.0.0.9:4711\"",
                "INFO app: stopping",
            ],
            "{stderr}"
        );
    }

    /// The child side: the example's own `run`, into the test's directory.
    pub(crate) fn child(log: PathBuf) {
        let dir = log.parent().expect("the log's directory");
        let written = example::run(dir).expect("the example runs");
        assert_eq!(written, log);
    }
}

#[cfg(feature = "tracing")]
pub(crate) use tracing_stderr_and_file::child as tracing_example_child;

#[cfg(feature = "json")]
mod json_service {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::json_service_example as example;
    use example::{REQUESTS_PER_WORKER, WORKERS};

    /// Every third request is a checkout, every seventh fails (the
    /// example's rule, restated).
    fn fails(req_id: u64) -> bool {
        req_id.is_multiple_of(7)
    }

    fn audited(req_id: u64) -> bool {
        req_id.is_multiple_of(3) && !fails(req_id)
    }

    #[test]
    fn every_line_is_json_with_typed_fields_and_every_request_is_there_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (log, stats) = crate::util::multi_thread()
            .block_on(example::run(dir.path()))
            .expect("the example runs");
        assert_eq!(log, dir.path().join("service.log"));

        let text = std::fs::read_to_string(&log).expect("read the log");
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect();

        // The shape of every line; timestamp and pid are checked, not compared.
        for line in &lines {
            let mut keys: Vec<&str> = line
                .as_object()
                .expect("an object")
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                [
                    "fields",
                    "level",
                    "message",
                    "pid",
                    "span",
                    "spans",
                    "target",
                    "timestamp"
                ],
                "{line}"
            );
            let timestamp = line["timestamp"].as_str().expect("a string");
            assert!(
                timestamp.len() == 24 && &timestamp[10..11] == "T" && timestamp.ends_with('Z'),
                "UTC, RFC 3339 with milliseconds: {line}"
            );
            assert_eq!(line["pid"].as_u64(), Some(u64::from(std::process::id())));
        }

        let requests = WORKERS * REQUESTS_PER_WORKER;
        let first = &lines[0];
        assert_eq!(
            (&first["level"], &first["target"], &first["message"]),
            (&json!("INFO"), &json!("service"), &json!("service started"))
        );
        assert_eq!(
            first["fields"],
            json!({"version": "1.2.0", "workers": WORKERS})
        );
        assert_eq!((&first["span"], &first["spans"]), (&json!({}), &json!([])));
        let last = lines.last().expect("lines");
        assert_eq!(last["message"], "service stopping");
        assert_eq!(last["fields"], json!({"requests": requests}));
        assert_eq!((&last["span"], &last["spans"]), (&json!({}), &json!([])));

        // Between them, one line per request and one per audit, each in the
        // `request` span of its request.
        let mut outcome = BTreeMap::new(); // req_id -> line index
        let mut audit = BTreeMap::new();
        let mut last_of_worker = BTreeMap::new();
        for (index, line) in lines.iter().enumerate().take(lines.len() - 1).skip(1) {
            let req_id = line["span"]["req_id"].as_u64().expect("req_id, a number");
            let worker = line["span"]["worker"].as_u64().expect("worker, a number");
            assert!((1..=requests).contains(&req_id), "{line}");
            assert_eq!(worker, (req_id - 1) / REQUESTS_PER_WORKER, "{line}");
            assert_eq!(
                line["spans"],
                json!([{"name": "request", "fields": {"req_id": req_id, "worker": worker}}])
            );
            let fields = &line["fields"];
            match line["message"].as_str().expect("a message") {
                "audit: order paid" => {
                    assert!(audited(req_id), "{line}");
                    assert_eq!(line["level"], "CRITICAL");
                    assert_eq!(line["target"], "service::audit");
                    assert_eq!(
                        *fields,
                        json!({"order": 9000 + req_id, "amount_cents": 1000 + 250 * req_id, "currency": "EUR"})
                    );
                    assert!(
                        audit.insert(req_id, index).is_none(),
                        "audited twice: {line}"
                    );
                    continue;
                }
                "request served" => {
                    assert!(!fails(req_id), "{line}");
                    assert_eq!(line["level"], "INFO");
                    let method = if req_id.is_multiple_of(3) {
                        "POST"
                    } else {
                        "GET"
                    };
                    assert_eq!(fields["method"], method, "{line}");
                    assert_eq!(fields["status"].as_u64(), Some(200), "{line}");
                    assert_eq!(
                        fields["cache_hit"].as_bool(),
                        Some(req_id.is_multiple_of(2)),
                        "{line}"
                    );
                }
                "request failed" => {
                    assert!(fails(req_id), "{line}");
                    assert_eq!(line["level"], "WARNING");
                    assert_eq!(fields["status"].as_u64(), Some(503), "{line}");
                    assert_eq!(fields["error"], "upstream timeout", "{line}");
                }
                other => panic!("unexpected message {other:?}: {line}"),
            }
            assert_eq!(line["target"], "service::http");
            // A float, and at least the simulated work (1 ms or more).
            let latency = fields["latency_ms"].as_f64().expect("latency_ms");
            assert!(fields["latency_ms"].is_f64() && latency >= 1.0, "{line}");
            assert!(outcome.insert(req_id, index).is_none(), "twice: {line}");
            // Each worker's requests in the order it handled them.
            if let Some(previous) = last_of_worker.insert(worker, req_id) {
                assert!(previous < req_id, "{line}");
            }
        }
        assert_eq!(
            outcome.keys().copied().collect::<Vec<_>>(),
            (1..=requests).collect::<Vec<_>>(),
            "every request once"
        );
        let audited_ids: Vec<u64> = (1..=requests).filter(|&id| audited(id)).collect();
        assert_eq!(audit.keys().copied().collect::<Vec<_>>(), audited_ids);
        for (req_id, index) in &audit {
            // `emit_wait` returned before the response was logged.
            assert!(
                *index < outcome[req_id],
                "audit of {req_id} after its response"
            );
        }
        let total = 2 + requests + audited_ids.len() as u64;
        assert_eq!(lines.len() as u64, total);

        // The final stats account for every line.
        assert_eq!(
            (stats.emitted, stats.written, stats.lost()),
            (total, total, 0)
        );
        assert!(
            stats.to_string().starts_with(&format!(
                "written {total} of {total} (lost 0: dropped 0, failed 0)"
            )),
            "{stats}"
        );
    }
}
