//! The crate's errors as Python exceptions.
//!
//! | crate | Python |
//! |---|---|
//! | `InvalidConfig` | `ValueError` |
//! | `Timeout` | `TimeoutError` |
//! | `Closed` | `HandlerClosedError` (a `LogWriteError`) |
//! | anything with an OS cause | `LogWriteError` (an `OSError`) with its `errno` and path |
//! | the rest | `LogWriteError` |

use concurrent_log_handler::{Error, ErrorKind};
use pyo3::exceptions::{PyOSError, PyTimeoutError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    concurrent_log_handler_rs,
    LogWriteError,
    PyOSError,
    "A record could not be written: the lock, the log file, a rotation, or the handler's state. \
     The message names the path and the OS cause."
);
pyo3::create_exception!(
    concurrent_log_handler_rs,
    HandlerClosedError,
    LogWriteError,
    "The handler was stopped, shut down or closed: it takes no more records."
);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("LogWriteError", py.get_type::<LogWriteError>())?;
    m.add("HandlerClosedError", py.get_type::<HandlerClosedError>())?;
    Ok(())
}

/// `error` as the Python exception that says the same.
pub(crate) fn to_py(error: &Error) -> PyErr {
    let message = error.to_string();
    match error.kind() {
        ErrorKind::InvalidConfig => PyValueError::new_err(message),
        ErrorKind::Timeout => PyTimeoutError::new_err(message),
        ErrorKind::Closed => HandlerClosedError::new_err(message),
        _ => match error.io_error().and_then(std::io::Error::raw_os_error) {
            Some(errno) => match error.path() {
                Some(path) => LogWriteError::new_err((errno, message, path.display().to_string())),
                None => LogWriteError::new_err((errno, message)),
            },
            None => LogWriteError::new_err(message),
        },
    }
}
