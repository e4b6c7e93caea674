//! The public syslog pieces against a real rsyslogd: `SyslogFormatter`'s
//! messages, framed by hand (RFC 6587 octet counting) over a plain TCP
//! socket, parse in rsyslogd with every field and hostile string intact;
//! `SyslogConfig` refuses what it cannot use. The sink itself is tested
//! inside the crate (`src/net/tests.rs`), where it is visible.

use std::io::Write;
use std::time::Duration;

use concurrent_log_handler::format::{Facility, Formatter, SyslogFormatter};
use concurrent_log_handler::{ErrorKind, Level, Record, SyslogConfig};

use crate::rsyslog::{Listeners, Rsyslog, parse_sd, unescape};

#[test]
fn syslog_formatter_output_parses_in_rsyslogd_with_hostile_text_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(rsyslog) = Rsyslog::start(dir.path(), Listeners::default()) else {
        return;
    };
    let formatter = SyslogFormatter::new()
        .facility(Facility::Daemon)
        .app_name("it app") // the space becomes `_`
        .hostname("host.example");
    let hostile = [
        "plain",
        "new\nline and \r\n crlf",
        "quote \" bracket ] backslash \\ open [",
        "ünïcödé ✓ 日本語 \u{2028} \u{85} \x1b[31m",
        "",
    ];
    let levels = [
        Level::Critical,
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
    ];
    let mut wire = Vec::new();
    for (i, (text, level)) in hostile.iter().zip(levels).enumerate() {
        let record = Record::new(level, *text)
            .with_target(if i == 0 { "" } else { "it::syslog" })
            .with_field("i", i)
            .with_field("text", *text)
            .with_field("k=\"]", "v");
        let mut message = Vec::new();
        formatter.format(&record, &mut message);
        write!(wire, "{} ", message.len()).expect("vec");
        wire.extend_from_slice(&message);
    }
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", rsyslog.ports.tcp)).expect("connect");
    stream.write_all(&wire).expect("send");
    drop(stream);
    let received = rsyslog.wait_until(Duration::from_secs(10), |r| r.len() >= hostile.len());
    assert_eq!(received.len(), hostile.len(), "{}", rsyslog.stderr());
    for (i, r) in received.iter().enumerate() {
        assert_eq!(u32::from(r.severity), [2, 3, 4, 6, 7][i], "{r:?}");
        assert_eq!(r.facility, 3, "daemon");
        assert_eq!(
            (r.app.as_str(), r.host.as_str()),
            ("it_app", "host.example")
        );
        assert_eq!(r.procid, std::process::id().to_string());
        assert_eq!(r.msgid, if i == 0 { "-" } else { "it::syslog" });
        assert_eq!(unescape(&r.msg), hostile[i], "{r:?}");
        let sd = parse_sd(&r.sd);
        assert_eq!(sd.len(), 1);
        assert_eq!(sd[0].0, "fields@32473");
        let params = &sd[0].1;
        assert_eq!(params[0], ("i".to_owned(), i.to_string()));
        assert_eq!(unescape(&params[1].1), hostile[i]);
        assert_eq!(params[2], ("k___".to_owned(), "v".to_owned()));
    }
}

#[test]
fn syslog_config_refuses_urls_it_cannot_use() {
    for url in [
        "logs:514",
        "ftp://logs",
        "tcp://logs:x",
        "unix://relative/path",
    ] {
        let err = SyslogConfig::new(url).expect_err(url);
        assert!(err.kind() == ErrorKind::InvalidConfig, "{url}: {err}");
    }
    let config = SyslogConfig::new("relp://127.0.0.1:2514").expect("valid");
    assert_eq!(config.url(), "relp://127.0.0.1:2514");
}
