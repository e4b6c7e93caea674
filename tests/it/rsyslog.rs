//! A real rsyslogd for the syslog tests: started as a child process on
//! 127.0.0.1 ports picked here, with a generated configuration, writing
//! every message it receives as one JSON line that the tests parse.
//!
//! The crate's own sink tests (`src/net/tests/`) include this file too,
//! so it uses nothing but std, `rcgen` and `serde_json`.
//!
//! rsyslogd runs with a direct main queue and writes each message with
//! `write(2)` before it answers a RELP frame, so a message rsyslogd
//! acknowledged is in the output file even if rsyslogd is then killed with
//! SIGKILL: that is what lets the tests check RELP's promise exactly.

#![allow(dead_code)] // each of the two test crates uses part of it

use std::io::BufRead;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The listeners to start.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listeners {
    /// imtcp, plain.
    pub tcp: bool,
    /// imrelp, plain.
    pub relp: bool,
    /// imtcp with the gtls driver (anonymous clients).
    pub tls: bool,
    /// imtcp with the gtls driver requiring a client certificate of the CA.
    pub tls_client_auth: bool,
    /// imrelp with TLS (librelp over GnuTLS), client certificates required.
    pub relp_tls: bool,
    /// imudp.
    pub udp: bool,
    /// imuxsock on a socket in the directory.
    pub unix: bool,
    /// rsyslog's global `maxMessageSize` (imrelp's `maxDataSize` follows
    /// it); `None`: the deployment guide's 64 KiB.
    pub max_message_size: Option<usize>,
}

/// The ports (and socket path) rsyslogd listens on.
#[derive(Debug, Clone, Default)]
pub struct Ports {
    pub tcp: u16,
    pub relp: u16,
    pub tls: u16,
    pub tls_client_auth: u16,
    pub relp_tls: u16,
    pub udp: u16,
    pub unix: PathBuf,
}

/// A CA, a server certificate for `localhost` and `127.0.0.1`, and a client
/// certificate, as PEM files.
#[derive(Debug, Clone)]
pub struct Certs {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that signed nothing here: verifying against it must fail.
    pub other_ca: PathBuf,
}

/// One message as rsyslogd parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub raw: String,
    pub severity: u8,
    pub facility: u8,
    pub host: String,
    pub app: String,
    pub procid: String,
    pub msgid: String,
    pub sd: String,
    pub msg: String,
}

/// The rsyslogd binary, or `None` with a note when it is missing outside
/// CI. Under CI (`CI` set) a missing rsyslogd fails the test: `.ci/run`
/// installs it, so its absence is a broken CI, not a reason to skip.
pub fn rsyslogd() -> Option<PathBuf> {
    let found = [
        "/usr/sbin/rsyslogd",
        "/sbin/rsyslogd",
        "/usr/local/sbin/rsyslogd",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    let modules = Path::new("/usr/lib/x86_64-linux-gnu/rsyslog");
    let relp = ["imrelp.so", "lmnsd_gtls.so"]
        .iter()
        .all(|m| !modules.exists() || modules.join(m).exists());
    match found {
        Some(path) if relp => Some(path),
        _ if std::env::var_os("CI").is_some() => {
            panic!("rsyslogd (with rsyslog-relp and rsyslog-gnutls) is required under CI")
        }
        _ => {
            eprintln!(
                "note: skipping: rsyslogd not installed (apt-get install rsyslog rsyslog-relp rsyslog-gnutls)"
            );
            None
        }
    }
}

/// The collector configuration the deployment guide gives (DEPLOYMENT.md,
/// between its `begin collector.conf` and `end collector.conf` marks):
/// every test's rsyslogd runs it, with the test's ports and paths.
fn guide_collector_conf() -> String {
    const GUIDE: &str = include_str!("../../DEPLOYMENT.md");
    let start = GUIDE
        .find("<!-- begin collector.conf -->")
        .and_then(|at| {
            GUIDE[at..]
                .find("```conf\n")
                .map(|fence| at + fence + "```conf\n".len())
        })
        .expect("DEPLOYMENT.md holds the collector's configuration");
    let end = start
        + GUIDE[start..]
            .find("```\n<!-- end collector.conf -->")
            .expect("its end");
    GUIDE[start..end].to_owned()
}

/// The statement of `conf` that starts with `start`, up to its closing
/// parenthesis and line end.
fn guide_statement(conf: &str, start: &str) -> String {
    let at = conf
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in the guide's configuration"));
    let end = at + conf[at..].find(")\n").expect("a closing parenthesis") + 2;
    conf[at..end].to_owned()
}

/// What a scripted RELP collector does with a `syslog` frame.
#[derive(Debug, Clone, Copy)]
pub enum RelpAnswer {
    /// `rsp` with this status and text (`"200 OK"`, `"500 queue full"`).
    Status(&'static str),
    /// Drops the connection without answering.
    Drop,
}

/// A RELP collector scripted on loopback, for what rsyslogd will not do
/// (refuse one record, drop connections at will): it answers `open`, then
/// each `syslog` frame as `answer(connection, frame)` says (both counted
/// from 0), and `close` with `rsp 0`. Returns its port; it serves until
/// the test process ends.
pub fn scripted_relp(answer: impl Fn(usize, usize) -> RelpAnswer + Send + 'static) -> u16 {
    use std::io::{BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for (connection, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut writer = stream;
            let mut frame = 0;
            let mut line = String::new();
            // Frames here carry no LF in their data, but `open`'s offers.
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                let txnr: u32 = line
                    .split(' ')
                    .next()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                if line.contains(" open ") {
                    for _ in 0..2 {
                        line.clear();
                        let _ = reader.read_line(&mut line);
                    }
                    let offers = "200 OK\nrelp_version=0\ncommands=syslog";
                    let _ = writeln!(writer, "{txnr} rsp {} {offers}", offers.len());
                } else if line.contains(" syslog ") {
                    match answer(connection, frame) {
                        RelpAnswer::Status(status) => {
                            let _ = writeln!(writer, "{txnr} rsp {} {status}", status.len());
                        }
                        RelpAnswer::Drop => break,
                    }
                    frame += 1;
                } else if line.contains(" close ") {
                    let _ = writeln!(writer, "{txnr} rsp 0");
                    break;
                }
                line.clear();
            }
        }
    });
    port
}

/// A running rsyslogd, killed when dropped.
#[derive(Debug)]
pub struct Rsyslog {
    binary: PathBuf,
    dir: PathBuf,
    listeners: Listeners,
    pub ports: Ports,
    pub certs: Option<Certs>,
    child: Option<Child>,
}

fn free_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a free port");
    socket.local_addr().expect("local addr").port()
}

impl Rsyslog {
    /// [`start`](Self::start) in a fresh temporary directory. Bound as
    /// `(dir, rsyslog)`, rsyslogd is killed before its directory goes.
    pub fn start_in_temp_dir(listeners: Listeners) -> Option<(tempfile::TempDir, Rsyslog)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let rsyslog = Rsyslog::start(dir.path(), listeners)?;
        Some((dir, rsyslog))
    }

    /// Starts rsyslogd in `dir` (which must exist) with `listeners`, and
    /// waits until its TCP listeners accept connections. `None` when
    /// rsyslogd is not installed (and not under CI).
    pub fn start(dir: &Path, listeners: Listeners) -> Option<Rsyslog> {
        let binary = rsyslogd()?;
        let certs = (listeners.tls || listeners.tls_client_auth || listeners.relp_tls)
            .then(|| make_certs(dir));
        let ports = Ports {
            tcp: free_tcp_port(),
            relp: free_tcp_port(),
            tls: free_tcp_port(),
            tls_client_auth: free_tcp_port(),
            relp_tls: free_tcp_port(),
            udp: free_udp_port(),
            unix: dir.join("log.sock"),
        };
        let mut rsyslog = Rsyslog {
            binary,
            dir: dir.to_path_buf(),
            listeners,
            ports,
            certs,
            child: None,
        };
        rsyslog.write_config();
        rsyslog.launch();
        Some(rsyslog)
    }

    /// Where the received messages go, one JSON object per line.
    pub fn output(&self) -> PathBuf {
        self.dir.join("received.jsonl")
    }

    fn write_config(&self) {
        let dir = self.dir.display().to_string();
        let p = &self.ports;
        let mut conf = guide_collector_conf()
            .replace("/var/spool/rsyslog", &dir)
            .replace("/var/log/collector", &dir)
            .replace(r#"port="2514""#, &format!(r#"port="{}""#, p.relp));
        if let Some(max) = self.listeners.max_message_size {
            conf = conf.replace(
                r#"maxMessageSize="64k""#,
                &format!(r#"maxMessageSize="{max}""#),
            );
        }
        // The guide's RELP-over-TLS input, with this run's port and files,
        // when the test asks for it.
        let tls_input = guide_statement(&conf, r#"input(type="imrelp" port="2515""#);
        let relp_tls = match (&self.certs, self.listeners.relp_tls) {
            (Some(certs), true) => tls_input
                .replace(r#"port="2515""#, &format!(r#"port="{}""#, p.relp_tls))
                .replace("/etc/rsyslog/tls/ca.pem", &certs.ca.display().to_string())
                .replace(
                    "/etc/rsyslog/tls/collector.pem",
                    &certs.server_cert.display().to_string(),
                )
                .replace(
                    "/etc/rsyslog/tls/collector-key.pem",
                    &certs.server_key.display().to_string(),
                ),
            _ => String::new(),
        };
        conf = conf.replace(&tls_input, &relp_tls);
        if !self.listeners.relp {
            let plain = guide_statement(&conf, r#"input(type="imrelp" port="#);
            conf = conf.replace(&plain, "");
        }
        conf += "\n# The tests' own listeners.\nmodule(load=\"imtcp\" maxSessions=\"200\")\n";
        // imtcp is always there: it is how readiness is probed.
        conf += &format!("input(type=\"imtcp\" port=\"{}\" ruleset=\"clh\")\n", p.tcp);
        if let Some(certs) = &self.certs {
            let tls_input = |port: u16, auth: &str| {
                format!(
                    "input(type=\"imtcp\" port=\"{port}\" ruleset=\"clh\" streamDriver.name=\"gtls\" \
                     streamDriver.mode=\"1\" streamDriver.authMode=\"{auth}\" \
                     streamDriver.CAFile=\"{}\" streamDriver.CertFile=\"{}\" streamDriver.KeyFile=\"{}\")\n",
                    certs.ca.display(),
                    certs.server_cert.display(),
                    certs.server_key.display()
                )
            };
            if self.listeners.tls {
                conf += &tls_input(p.tls, "anon");
            }
            if self.listeners.tls_client_auth {
                conf += &tls_input(p.tls_client_auth, "x509/certvalid");
            }
        }
        if self.listeners.udp {
            conf += &format!(
                "module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"{}\" ruleset=\"clh\")\n",
                p.udp
            );
        }
        if self.listeners.unix {
            conf += &format!(
                "module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
                 input(type=\"imuxsock\" Socket=\"{}\" ruleset=\"clh\" useSpecialParser=\"off\" parseHostname=\"on\")\n",
                p.unix.display()
            );
        }
        std::fs::write(self.dir.join("rsyslog.conf"), conf).expect("write rsyslog.conf");
    }

    fn launch(&mut self) {
        let _ = std::fs::remove_file(self.dir.join("rsyslogd.pid"));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("rsyslogd.err"))
            .expect("rsyslogd.err");
        let child = Command::new(&self.binary)
            .arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start rsyslogd");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Polls a connection to each TCP listener, at most 10 s in all.
    fn wait_ready(&mut self) {
        let mut ports = vec![self.ports.tcp];
        if self.listeners.relp {
            ports.push(self.ports.relp);
        }
        if self.listeners.tls {
            ports.push(self.ports.tls);
        }
        if self.listeners.tls_client_auth {
            ports.push(self.ports.tls_client_auth);
        }
        if self.listeners.relp_tls {
            ports.push(self.ports.relp_tls);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in ports {
            loop {
                if TcpStream::connect_timeout(
                    &([127, 0, 0, 1], port).into(),
                    Duration::from_millis(200),
                )
                .is_ok()
                {
                    break;
                }
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    panic!("rsyslogd exited with {status}: {}", self.stderr());
                }
                assert!(
                    Instant::now() < deadline,
                    "rsyslogd did not listen on port {port} within 10 s: {}",
                    self.stderr()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if self.listeners.unix {
            while !self.ports.unix.exists() {
                assert!(
                    Instant::now() < deadline,
                    "no unix socket: {}",
                    self.stderr()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // imudp binds in the same start-up step as the TCP listeners above.
    }

    /// What rsyslogd said on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("rsyslogd.err")).unwrap_or_default()
    }

    fn pid(&self) -> Option<i32> {
        self.child.as_ref().and_then(|c| i32::try_from(c.id()).ok())
    }

    /// Kills rsyslogd with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports and files (after [`kill`](Self::kill)).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    fn signal(&self, signal: i32) {
        let Some(pid) = self.pid() else { return };
        // SAFETY: kill(2) with the pid of our own child, which has not been
        // reaped (we hold its `Child`), so the pid cannot name another process.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal})");
    }

    /// Freezes rsyslogd (SIGSTOP): it reads and answers nothing. Returns
    /// once every one of its threads is stopped (at most 5 s): a signal is
    /// delivered when a thread next runs, and on a busy machine one could
    /// still answer a frame sent right after `kill` returned.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
        let Some(pid) = self.pid() else { return };
        let deadline = Instant::now() + Duration::from_secs(5);
        let stopped = |task: &std::fs::DirEntry| {
            std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
                // The state follows the command name, which is in parentheses.
                stat.rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('T') || rest.starts_with('t'))
            })
        };
        while Instant::now() < deadline {
            let all = std::fs::read_dir(format!("/proc/{pid}/task"))
                .map(|tasks| tasks.flatten().all(|t| stopped(&t)))
                .unwrap_or(true);
            if all {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Lets it go on (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<Received> {
        let Ok(file) = std::fs::File::open(self.output()) else {
            return Vec::new();
        };
        std::io::BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.ends_with('}'))
            .map(|line| parse_line(&line))
            .collect()
    }

    /// Waits (at most `timeout`) until `pred` holds for the messages received.
    pub fn wait_until(
        &self,
        timeout: Duration,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if pred(&got) || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.kill();
    }
}

fn parse_line(line: &str) -> Received {
    let v: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("rsyslog output {line:?}: {e}"));
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let n = |k: &str| s(k).parse::<u8>().unwrap_or(u8::MAX);
    Received {
        raw: s("raw"),
        severity: n("severity"),
        facility: n("facility"),
        host: s("host"),
        app: s("app"),
        procid: s("procid"),
        msgid: s("msgid"),
        sd: s("sd"),
        msg: s("msg"),
    }
}

/// The SD-ELEMENTs of a STRUCTURED-DATA string: `(SD-ID, [(name, value)])`,
/// values with RFC 5424's backslash escapes undone.
pub fn parse_sd(sd: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut elements = Vec::new();
    let mut chars = sd.chars().peekable();
    while chars.next() == Some('[') {
        let mut id = String::new();
        while let Some(&c) = chars.peek() {
            if c == ' ' || c == ']' {
                break;
            }
            id.push(c);
            chars.next();
        }
        let mut params = Vec::new();
        while chars.peek() == Some(&' ') {
            chars.next();
            let name: String = chars.by_ref().take_while(|&c| c != '=').collect();
            assert_eq!(chars.next(), Some('"'), "{sd}");
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => panic!("unterminated PARAM-VALUE in {sd}"),
                }
            }
            params.push((name, value));
        }
        assert_eq!(chars.next(), Some(']'), "{sd}");
        elements.push((id, params));
    }
    elements
}

/// Undoes the crate's `format::escape` (`\n`, `\\`, `\x1b`, `\u{2028}`, …).
pub fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
            }
            Some('u') => {
                assert_eq!(chars.next(), Some('{'));
                let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                out.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
            }
            other => panic!("unknown escape \\{other:?} in {text:?}"),
        }
    }
    out
}

/// Generates the CA, the server and client certificates and an unrelated CA.
pub fn make_certs(dir: &Path) -> Certs {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };

    let ca = |name: &str| {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("CA cert");
        (params, key, cert)
    };
    let (ca_params, ca_key, ca_cert) = ca("clh test CA");
    let (_, _, other_cert) = ca("unrelated CA");
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let leaf = |names: Vec<String>, cn: &str| {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &issuer).expect("leaf cert");
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()], "localhost");
    let (client_cert, client_key) = leaf(vec!["client.test".into()], "client.test");
    let write = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write PEM");
        path
    };
    Certs {
        ca: write("ca.pem", &ca_cert.pem()),
        server_cert: write("server.pem", &server_cert),
        server_key: write("server.key", &server_key),
        client_cert: write("client.pem", &client_cert),
        client_key: write("client.key", &client_key),
        other_ca: write("other-ca.pem", &other_cert.pem()),
    }
}
