"""Lines byte-identical to Python CLH 0.9.31's for the same records and
format strings, rendered natively (the Python formatter is never called)
unless the formatter is one only Python can run."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import pytest
from concurrent_log_handler import ConcurrentRotatingFileHandler as PythonCLH

from concurrent_log_handler_rs import (
    ConcurrentRotatingFileHandler,
    NonBlockingConcurrentHandler,
)

FORMATS = [
    ("%", None, "%(message)s"),
    ("%", None, "%(asctime)s %(process)d %(levelname)s %(message)s"),
    ("%", None, "%(asctime)s.%(msecs)03d %(relativeCreated)d %(created)f %(levelno)s"),
    (
        "%",
        None,
        "%(process)d %(thread)d %(threadName)s %(processName)s %(funcName)s "
        "%(lineno)d %(pathname)s %(filename)s %(module)s %(name)s: %(message)s",
    ),
    ("%", "%d/%m/%Y %H-%M-%S %a %b %j", "[%(asctime)s] %(levelname)-8s|%(name)+12s|%(user)s %(message)s"),
    ("%", None, "%(levelname).3s %(lineno)05d %(lineno)-6d| %(created).2f %(user)r %(number)x %(msecs)e %%"),
    ("%", None, "%(user)s %(number)+d %(number) d %(ratio)08.3f %(ratio)-9.1F|"),
    ("{", None, "{asctime} {levelname:<8} {name} {user!r} {number:>6} {ratio:.3f} {message}"),
    ("{", "%H:%M:%S", "{asctime}|{{literal}}|{levelname!s:^9}|{user!a}|{message}"),
]


def make_records(logger: logging.Logger):
    """Records of every kind: args, unicode, extra fields, an exception, a
    stack, a non-string message, a custom level."""
    records = []

    def rec(level, msg, args=(), exc_info=None, sinfo=None, **extra):
        fields = {"user": "ünïcødé ✓", "number": 42, "ratio": 3.14159}
        fields.update(extra)
        records.append(
            logger.makeRecord(
                logger.name, level, __file__, 77, msg, args, exc_info, "make_records", fields, sinfo
            )
        )

    rec(logging.INFO, "plain message")
    rec(logging.INFO, "args %s %d %.2f %r", ("wörld", 7, 2.5, "q"))
    rec(logging.WARNING, "dict args %(a)s", ({"a": "mapped"},))
    rec(logging.DEBUG, "emoji 🎉 and CJK 日本語 and tab\tinside")
    rec(logging.ERROR, "multi\nline message")
    try:
        {}["missing"]
    except KeyError:
        rec(logging.ERROR, "with exception", exc_info=sys.exc_info())
    rec(logging.WARNING, "with stack", sinfo="Stack (most recent call last):\n  File x, line 1")
    rec(25, {"not": "a string"})
    rec(logging.CRITICAL, "extras", user=None, number=-5, ratio=-0.0)
    rec(logging.INFO, "big numbers", number=2**70, ratio=1e300)
    return records


def _trap(record):  # pragma: no cover - failing is the point
    raise AssertionError("the Python formatter ran: the format was not rendered natively")


def write_both(tmp_path: Path, style, datefmt, fmt, handler_cls=ConcurrentRotatingFileHandler, native=True):
    ours = handler_cls(tmp_path / "ours.log", encoding="utf-8")
    theirs = PythonCLH(str(tmp_path / "theirs.log"), encoding="utf-8")
    formatter = logging.Formatter(fmt, datefmt=datefmt, style=style)
    ours.setFormatter(formatter)
    theirs.setFormatter(logging.Formatter(fmt, datefmt=datefmt, style=style))
    if native:
        ours.format = _trap  # type: ignore[method-assign]
    logger = logging.getLogger("app.format")
    for record in make_records(logger):
        ours.handle(record)
        theirs.handle(record)
    ours.close()
    theirs.close()
    return (tmp_path / "ours.log").read_bytes(), (tmp_path / "theirs.log").read_bytes()


@pytest.mark.parametrize("style,datefmt,fmt", FORMATS)
def test_lines_are_byte_identical_to_python_clh(tmp_path, style, datefmt, fmt):
    ours, theirs = write_both(tmp_path, style, datefmt, fmt)
    assert theirs.count(b"\n") >= 10
    assert ours == theirs


def test_the_thread_handler_writes_the_same_bytes(tmp_path):
    fmt = FORMATS[3][2]
    ours, theirs = write_both(tmp_path, "%", None, fmt, NonBlockingConcurrentHandler)
    assert ours == theirs


def test_a_formatter_subclass_runs_in_python_and_matches(tmp_path):
    class Upper(logging.Formatter):
        def format(self, record):
            return super().format(record).upper()

    ours = ConcurrentRotatingFileHandler(tmp_path / "ours.log")
    theirs = PythonCLH(str(tmp_path / "theirs.log"))
    ours.setFormatter(Upper("%(levelname)s %(message)s"))
    theirs.setFormatter(Upper("%(levelname)s %(message)s"))
    for record in make_records(logging.getLogger("sub")):
        ours.handle(record)
        theirs.handle(record)
    ours.close()
    theirs.close()
    text = (tmp_path / "ours.log").read_bytes()
    assert b"PLAIN MESSAGE" in text
    assert text == (tmp_path / "theirs.log").read_bytes()


def test_dollar_style_and_converters_fall_back_to_python(tmp_path):
    for formatter in (
        logging.Formatter("$levelname $message", style="$"),
        logging.Formatter("%(asctime)s %(message)s"),
    ):
        if formatter._style._fmt.startswith("%"):
            formatter.converter = time.gmtime
        ours, theirs = ConcurrentRotatingFileHandler(tmp_path / "a.log"), PythonCLH(str(tmp_path / "b.log"))
        ours.setFormatter(formatter)
        theirs.setFormatter(formatter)
        for record in make_records(logging.getLogger("dollar")):
            ours.handle(record)
            theirs.handle(record)
        ours.close()
        theirs.close()
        assert (tmp_path / "a.log").read_bytes() == (tmp_path / "b.log").read_bytes()


def test_a_changed_formatter_is_used_from_the_next_record(tmp_path):
    handler = ConcurrentRotatingFileHandler(tmp_path / "app.log")
    logger = logging.getLogger("change")
    handler.setFormatter(logging.Formatter("first %(message)s"))
    handler.handle(logger.makeRecord("change", 20, "f", 1, "one", (), None))
    handler.setFormatter(logging.Formatter("second {message}", style="{"))
    handler.handle(logger.makeRecord("change", 20, "f", 1, "two", (), None))
    handler.setFormatter(None)
    handler.handle(logger.makeRecord("change", 20, "f", 1, "three", (), None))
    handler.close()
    assert (tmp_path / "app.log").read_text() == "first one\nsecond two\nthree\n"


def test_a_missing_field_and_bad_args_are_reported_like_python(tmp_path, capsys):
    ours = ConcurrentRotatingFileHandler(tmp_path / "ours.log")
    theirs = PythonCLH(str(tmp_path / "theirs.log"))
    for handler in (ours, theirs):
        handler.setFormatter(logging.Formatter("%(nosuchfield)s %(message)s"))
    logger = logging.getLogger("missing")
    record = logger.makeRecord("missing", 20, "f", 1, "x %d", ("not a number",), None)
    ours.handle(record)
    ours_err = capsys.readouterr().err
    theirs.handle(record)
    theirs_err = capsys.readouterr().err
    ours.close()
    theirs.close()
    assert "--- Logging error ---" in ours_err
    assert "--- Logging error ---" in theirs_err
    assert ours_err.splitlines()[-1] == theirs_err.splitlines()[-1]
    assert (tmp_path / "ours.log").read_bytes() == b""


@pytest.mark.parametrize("policy", ["ignore", "replace", "strict"])
def test_lone_surrogates_follow_the_unicode_error_policy_like_python_clh(tmp_path, policy, capsys):
    ours = ConcurrentRotatingFileHandler(tmp_path / "ours.log", encoding="utf-8", unicode_error_policy=policy)
    theirs = PythonCLH(str(tmp_path / "theirs.log"), encoding="utf-8", unicode_error_policy=policy)
    logger = logging.getLogger("surrogates")
    for message in ("bad \udcff byte", "fine"):
        record = logger.makeRecord("s", 20, "f", 1, message, (), None)
        ours.handle(record)
        theirs.handle(record)
    ours.close()
    theirs.close()
    capsys.readouterr()
    assert (tmp_path / "ours.log").read_bytes() == (tmp_path / "theirs.log").read_bytes()


def test_records_from_threads_keep_their_thread_names(tmp_path):
    handler = ConcurrentRotatingFileHandler(tmp_path / "app.log")
    handler.setFormatter(logging.Formatter("%(threadName)s %(thread)d %(message)s"))
    logger = logging.getLogger("threads")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def work(n):
        for i in range(200):
            logger.info("n%d i%d", n, i)

    threads = [threading.Thread(target=work, args=(n,), name=f"worker-{n}") for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    logger.removeHandler(handler)
    handler.close()
    lines = (tmp_path / "app.log").read_text().splitlines()
    assert len(lines) == 800
    for line in lines:
        name, ident, n, _ = line.split(" ")
        assert name == f"worker-{n[1:]}"
        assert int(ident) > 0


class PropertyRecord(logging.LogRecord):
    @property
    def shown(self):  # not in __dict__: a %-style field cannot see it
        return "from a property"


@pytest.mark.parametrize("fmt", ["%(getMessage)s", "%(shown)s", "{shown}"])
def test_fields_come_from_the_records_dict_as_in_python(tmp_path, capsys, fmt):
    style = "{" if fmt.startswith("{") else "%"
    ours = ConcurrentRotatingFileHandler(tmp_path / "ours.log")
    theirs = PythonCLH(str(tmp_path / "theirs.log"))
    for handler in (ours, theirs):
        handler.setFormatter(logging.Formatter(fmt, style=style, validate=False))
    record = PropertyRecord("p", 20, "f", 1, "message", (), None)
    ours.handle(record)
    ours_err = capsys.readouterr().err
    theirs.handle(record)
    theirs_err = capsys.readouterr().err
    ours.close()
    theirs.close()
    # Python CLH opens its file at the first write: none happened.
    assert not (tmp_path / "theirs.log").exists()
    assert (tmp_path / "ours.log").read_bytes() == b""
    assert ours_err.splitlines()[-1] == theirs_err.splitlines()[-1]
