//! The messages of errors, and what stays available to code.

use std::io;
use std::path::Path;
use std::time::Duration;

use super::*;

#[test]
fn display_names_the_path_the_cause_and_a_hint() {
    let os = io::Error::from_raw_os_error;
    let cases = [
        (
            Error::io(
                ErrorKind::OpenLockFile,
                "/proc/.__app.lock",
                os(libc::EACCES),
            ),
            "cannot open lock file \"/proc/.__app.lock\": Permission denied (os error 13) \
             (every process writing the log needs to create and lock this file: make its \
             directory writable, or put it elsewhere with lock_file_directory)",
        ),
        (
            Error::rotate(
                Path::new("/d/app.log"),
                Path::new("/d/app.log.1"),
                os(libc::EXDEV),
            ),
            "cannot rotate \"/d/app.log\" to \"/d/app.log.1\": Invalid cross-device link \
             (os error 18) (the lines were written all the same)",
        ),
        (
            Error::io(ErrorKind::Remove, "/d/app.log.9", os(libc::EISDIR)),
            "cannot remove \"/d/app.log.9\": Is a directory (os error 21)",
        ),
        (
            Error::io(ErrorKind::Write, "/d/app.log", os(libc::ENOSPC)),
            "cannot write log file \"/d/app.log\": No space left on device (os error 28) \
             (the file system is full, or this user's quota is used up: free some space)",
        ),
        (
            Error::blocked(
                ErrorKind::CreateDir,
                "/etc/passwd/logs",
                Obstacle::FileInTheWay("/etc/passwd".into()),
                os(libc::ENOTDIR),
            ),
            "cannot create directory \"/etc/passwd/logs\": a file stands where a directory \
             must be, at \"/etc/passwd\" (log elsewhere, or move that file if it does not \
             belong there)",
        ),
        (
            Error::blocked(
                ErrorKind::OpenLockFile,
                "/locks/.__app.lock",
                Obstacle::DirNotWritable("/locks".into()),
                os(libc::EACCES),
            ),
            "cannot open lock file \"/locks/.__app.lock\": Permission denied (os error 13) \
             (directory \"/locks\" does not let this user create files in it: make it \
             writable, or put the lock file elsewhere with lock_file_directory)",
        ),
        (
            Error::config_file("/etc/app/log.json", "JSON parse error at line 1, column 2"),
            "invalid configuration in \"/etc/app/log.json\": JSON parse error at line 1, \
             column 2",
        ),
        (Error::closed(), "the log handler is closed"),
        (
            Error::timeout(Duration::from_millis(50)),
            "the log writer did not finish within 50ms (it goes on in the background)",
        ),
        (
            Error::net(
                ErrorKind::Connect,
                "relp://logs:2514",
                os(libc::ECONNREFUSED),
            ),
            "cannot connect to syslog collector relp://logs:2514: Connection refused (os error 111)",
        ),
    ];
    for (err, want) in cases {
        assert_eq!(err.to_string(), want);
        assert_eq!(format!("{err:?}"), want, "Debug is Display");
    }
}

#[test]
fn alternate_debug_shows_the_structure() {
    let err = Error::io(
        ErrorKind::OpenLog,
        "/d/app.log",
        io::Error::from_raw_os_error(libc::EISDIR),
    );
    let debug = format!("{err:#?}");
    assert!(debug.starts_with("Error {\n    kind: OpenLog,"), "{debug}");
    assert!(debug.contains("\"/d/app.log\""), "{debug}");
    assert!(debug.contains("code: 21"), "{debug}");
}

#[test]
fn the_os_error_keeps_its_kind_and_errno_through_io_error() {
    let err = Error::io(
        ErrorKind::Write,
        "/d/app.log",
        io::Error::from_raw_os_error(libc::ENOSPC),
    );
    assert_eq!(
        err.io_error().and_then(io::Error::raw_os_error),
        Some(libc::ENOSPC)
    );
    let io: io::Error = err.clone().into();
    assert_eq!(io.kind(), io::ErrorKind::StorageFull);
    assert!(io.to_string().contains("/d/app.log"));
    assert!(
        std::error::Error::source(&err).is_none(),
        "the cause is in Display"
    );
}
