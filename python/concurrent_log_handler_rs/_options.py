"""Python CLH 0.9.31's constructor arguments, checked and turned into the
engine's settings.

What the engine supports behaves as in Python CLH; any other value is
refused with a ``ValueError`` that names the argument and says what to do,
never silently ignored.
"""

from __future__ import annotations

import codecs
import locale
import logging
import os
import threading
from typing import Any, Dict, Optional, Tuple, Union

PathLike = Union[str, "os.PathLike[str]"]

#: The largest queue the engine takes.
MAX_QUEUE_SIZE = 1_048_576

_UMASK_LOCK = threading.Lock()


def _process_umask() -> int:
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _int_arg(name: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}={value!r}: expected an integer >= {minimum}")
    if value < minimum:
        raise ValueError(f"{name}={value!r}: must be >= {minimum}")
    return value


def _bool_arg(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r}: expected True or False")
    return value


def _path_arg(name: str, value: Any) -> str:
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name}={value!r}: expected a path (str or os.PathLike)")
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise ValueError(f"{name}={value!r}: expected a non-empty text path")
    return os.path.abspath(path)


def _refuse(name: str, value: Any, why: str) -> None:
    raise ValueError(f"{name}={value!r} is not supported: {why}")


def _check_encoding(encoding: Optional[str]) -> None:
    if encoding is None:
        preferred = locale.getpreferredencoding(False)
        if codecs.lookup(preferred).name != "utf-8":
            _refuse(
                "encoding",
                None,
                f"it means this locale's encoding, {preferred}, and this handler writes "
                "UTF-8 only; pass encoding='utf-8'",
            )
        return
    if not isinstance(encoding, str):
        raise ValueError(f"encoding={encoding!r}: expected a codec name")
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"encoding={encoding!r}: unknown codec") from None
    if name != "utf-8":
        _refuse("encoding", encoding, "this handler writes UTF-8 only; pass encoding='utf-8'")


def _error_policy(unicode_error_policy: str, errors: Optional[str]) -> str:
    if unicode_error_policy not in ("ignore", "replace", "strict"):
        raise ValueError(
            f"unicode_error_policy={unicode_error_policy!r}: expected 'ignore', 'replace' "
            "or 'strict'"
        )
    if errors is None or errors == "strict":
        return unicode_error_policy
    if errors in ("ignore", "replace"):
        return errors
    _refuse("errors", errors, "expected None, 'strict', 'ignore' or 'replace'")
    return unicode_error_policy  # not reached


def _file_mode(chmod: Optional[int]) -> int:
    umask = _process_umask()
    if chmod is None:
        # Python's open(): 0o666 before the umask.
        return 0o666
    mode = _int_arg("chmod", chmod)
    if mode > 0o7777:
        raise ValueError(f"chmod={oct(mode)}: not a permission mode")
    if mode & umask:
        _refuse(
            "chmod",
            oct(mode),
            f"the process umask {oct(umask)} removes some of its bits, and this handler "
            "creates files with chmod & ~umask (Python CLH chmods them afterwards); "
            f"pass chmod={oct(mode & ~umask)} or lower the umask",
        )
    return mode


def _common(
    *,
    filename: Any,
    mode: str,
    maxBytes: Any,
    backupCount: Any,
    encoding: Optional[str],
    debug: Any,
    use_gzip: Any,
    owner: Any,
    chmod: Any,
    umask: Any,
    newline: Any,
    terminator: Any,
    unicode_error_policy: str,
    errors: Optional[str],
    lock_file_directory: Any,
    keep_file_open: Any,
    durable: Any,
    syslog: Any,
) -> Dict[str, Any]:
    if mode not in ("a", "at"):
        _refuse(
            "mode",
            mode,
            "several processes share the file, so this handler only appends; pass mode='a'",
        )
    _check_encoding(encoding)
    if debug:
        _refuse(
            "debug",
            debug,
            "write errors are reported on stderr and counted in get_stats() anyway",
        )
    if owner is not None:
        _refuse("owner", owner, "files belong to the user running the process")
    if umask is not None:
        _refuse(
            "umask",
            umask,
            "the process umask applies to new files; set it with os.umask() before "
            "creating the handler, or use chmod",
        )
    if newline not in (None, "", "\n"):
        _refuse("newline", newline, "lines end in '\\n' (newline=None, '' or '\\n')")
    terminator = terminator or "\n"
    if not isinstance(terminator, str) or not terminator.endswith("\n"):
        _refuse("terminator", terminator, "a terminator must end in '\\n'")
    if not _bool_arg("keep_file_open", keep_file_open):
        _refuse("keep_file_open", False, "the engine keeps the log and lock file open")
    if syslog is not None and not isinstance(syslog, str):
        raise ValueError(f"syslog={syslog!r}: expected a URL such as 'tcp://127.0.0.1:514'")
    return {
        "filename": _path_arg("filename", filename),
        "max_bytes": _int_arg("maxBytes", maxBytes),
        "backup_count": _int_arg("backupCount", backupCount),
        "compression": "gzip" if _bool_arg("use_gzip", use_gzip) else None,
        "lock_file_directory": (
            None
            if lock_file_directory is None
            else _path_arg("lock_file_directory", lock_file_directory)
        ),
        "rotation": None,
        "utc": False,
        "file_mode": _file_mode(chmod),
        "durable": _bool_arg("durable", durable),
        "syslog": syslog,
        "errors": _error_policy(unicode_error_policy, errors),
        "terminator": terminator,
        # Queue settings; the queued handlers set their own.
        "queue_size": 10_000,
        "fallback": "block",
        "sync_level": None,
    }


def rotating_options(
    filename: PathLike,
    mode: str = "a",
    maxBytes: int = 0,
    backupCount: int = 0,
    encoding: Optional[str] = None,
    debug: bool = False,
    delay: Any = None,
    use_gzip: bool = False,
    owner: Optional[Tuple[str, str]] = None,
    chmod: Optional[int] = None,
    umask: Optional[int] = None,
    newline: Optional[str] = None,
    terminator: str = "\n",
    unicode_error_policy: str = "ignore",
    lock_file_directory: Optional[PathLike] = None,
    keep_file_open: bool = True,
    *,
    durable: bool = False,
    syslog: Optional[str] = None,
) -> Dict[str, Any]:
    """``ConcurrentRotatingFileHandler``'s arguments as engine settings.

    ``delay`` is accepted and ignored, as Python CLH ignores it.
    """
    del delay  # Python CLH 0.9.31 ignores it too
    options = _common(
        filename=filename,
        mode=mode,
        maxBytes=maxBytes,
        backupCount=backupCount,
        encoding=encoding,
        debug=debug,
        use_gzip=use_gzip,
        owner=owner,
        chmod=chmod,
        umask=umask,
        newline=newline,
        terminator=terminator,
        unicode_error_policy=unicode_error_policy,
        errors=None,
        lock_file_directory=lock_file_directory,
        keep_file_open=keep_file_open,
        durable=durable,
        syslog=syslog,
    )
    if options["max_bytes"] > 0 and options["backup_count"] == 0:
        _refuse(
            "backupCount",
            0,
            f"with maxBytes={maxBytes}, Python CLH would truncate the log at every "
            "rollover and lose its records; pass backupCount >= 1",
        )
    return options


_WHEN_SECONDS = {"S": 1, "M": 60, "H": 3600, "D": 86400}


def _rotation(when: Any, interval: Any) -> Tuple[str, int]:
    if not isinstance(when, str):
        raise ValueError(f"when={when!r}: expected 'S', 'M', 'H', 'D', 'MIDNIGHT' or 'W0'-'W6'")
    interval = _int_arg("interval", interval, minimum=1)
    key = when.upper()
    if key in _WHEN_SECONDS:
        return ("every", _WHEN_SECONDS[key] * interval)
    if key == "MIDNIGHT":
        return ("days", interval)
    if len(key) == 2 and key[0] == "W" and key[1] in "0123456":
        if interval != 1:
            _refuse("interval", interval, f"when={when!r} rotates every week; pass interval=1")
        return ("weekly", int(key[1]))
    raise ValueError(f"when={when!r}: expected 'S', 'M', 'H', 'D', 'MIDNIGHT' or 'W0'-'W6'")


def timed_options(
    filename: PathLike,
    when: str = "h",
    interval: int = 1,
    backupCount: int = 0,
    encoding: Optional[str] = None,
    delay: Any = False,
    utc: bool = False,
    atTime: Any = None,
    errors: Optional[str] = None,
    maxBytes: int = 0,
    use_gzip: bool = False,
    owner: Optional[Tuple[str, str]] = None,
    chmod: Optional[int] = None,
    umask: Optional[int] = None,
    newline: Optional[str] = None,
    terminator: str = "\n",
    unicode_error_policy: str = "ignore",
    lock_file_directory: Optional[PathLike] = None,
    keep_file_open: bool = True,
    *,
    mode: str = "a",
    durable: bool = False,
    syslog: Optional[str] = None,
) -> Dict[str, Any]:
    """``ConcurrentTimedRotatingFileHandler``'s arguments as engine settings."""
    del delay  # Python CLH 0.9.31 always delays; so does the engine's lazy rotation
    if atTime is not None:
        _refuse("atTime", atTime, "rollovers happen at midnight or every interval")
    options = _common(
        filename=filename,
        mode=mode,
        maxBytes=maxBytes,
        backupCount=backupCount,
        encoding=encoding,
        debug=False,
        use_gzip=use_gzip,
        owner=owner,
        chmod=chmod,
        umask=umask,
        newline=newline,
        terminator=terminator,
        unicode_error_policy=unicode_error_policy,
        errors=errors,
        lock_file_directory=lock_file_directory,
        keep_file_open=keep_file_open,
        durable=durable,
        syslog=syslog,
    )
    options["rotation"] = _rotation(when, interval)
    options["utc"] = _bool_arg("utc", utc)
    return options


def queue_options(
    options: Dict[str, Any],
    *,
    queue_size: Any,
    sync_level: Any,
    fallback: str,
) -> Dict[str, Any]:
    """``options`` with the queue's settings."""
    size = _int_arg("queue_size", queue_size, minimum=1)
    if size > MAX_QUEUE_SIZE:
        raise ValueError(f"queue_size={size}: at most {MAX_QUEUE_SIZE}")
    if sync_level is None:
        level = None
    else:
        try:
            level = logging._checkLevel(sync_level)  # type: ignore[attr-defined]
        except (ValueError, TypeError) as error:
            raise ValueError(f"sync_level={sync_level!r}: {error}") from None
    result = dict(options)
    result.update(queue_size=size, sync_level=level, fallback=fallback)
    return result
