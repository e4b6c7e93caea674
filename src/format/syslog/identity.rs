//! This machine's hostname and the executable's name: the default
//! HOSTNAME and APP-NAME of a message.

/// This machine's hostname from `gethostname(2)`, if it has one.
pub(super) fn system_hostname() -> Option<String> {
    // HOST_NAME_MAX is 64 on Linux, 255 in POSIX; one more for the NUL.
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole
    // call, and gethostname writes at most that many. POSIX leaves it open
    // whether a truncated name is NUL-terminated, so the terminator is
    // searched for below instead of assumed (a name with none is refused).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let len = buf.iter().position(|&b| b == 0)?;
    let name = std::str::from_utf8(&buf[..len]).ok()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// The executable's file name (`api` for `/usr/local/bin/api`).
pub(super) fn executable_name() -> Option<String> {
    let path = std::env::current_exe()
        .ok()
        .or_else(|| std::env::args_os().next().map(Into::into))?;
    Some(path.file_name()?.to_string_lossy().into_owned())
}
