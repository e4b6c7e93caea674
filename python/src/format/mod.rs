//! A `logging.Formatter` compiled into [`LineFormat`]: the line Python's
//! `Formatter.format` would return, plus the handler's terminator, built in
//! Rust from the record's attributes.
//!
//! Only a plain `logging.Formatter` (not a subclass) with `%` or `{` style,
//! the `time.localtime` or `time.gmtime` converter, and a format string
//! [`template`] can take apart is compiled; for any other formatter the
//! handler calls `formatter.format(record)` in Python, so a formatter of
//! your own always works, only slower. What the compiled form does is what
//! `Formatter.format` does, step by step:
//!
//! 1. `record.message = record.getMessage()` (`str(msg) % args`, done with
//!    the C API when the record is a plain `LogRecord`);
//! 2. `asctime`, when the format uses it: `time.strftime` of the record's
//!    second, called once per second and cached ([`time`]), then the
//!    milliseconds as `default_msec_format` says;
//! 3. the fields, from `record.__dict__` (see [`attrs`]) and the
//!    formatter's `defaults`;
//! 4. `exc_info` through `formatException` (cached in `record.exc_text`, as
//!    Python does) and `stack_info` through `formatStack`, each after a
//!    newline.
//!
//! A value this module does not render itself (an object's `str()`, `%e`,
//! a `{:>10}` spec) is rendered by Python's own `str`, `%` or `format` on
//! that value, so the text is Python's in every case. A field missing from
//! the record, or a value Python would refuse, sends the whole record to
//! the Python formatter, which raises what Python raises.

mod attrs;
mod spec;
mod template;
mod time;

use std::fmt::Write as _;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFloat, PyInt, PyString, PyTuple, PyType};

use attrs::Attrs;
use template::{How, Part};

/// How a handler turns records into lines: compiled, or through Python.
pub(crate) struct LineFormat {
    /// The formatter this was built from (`None`: logging's default).
    pub(crate) formatter: Option<Py<PyAny>>,
    /// `None`: call the formatter in Python.
    native: Option<Native>,
}

/// A formatter compiled to Rust.
struct Native {
    parts: Vec<Field>,
    asctime: Option<time::AscTime>,
    /// The formatter's `defaults` (Python 3.10's `Formatter(defaults=…)`).
    defaults: Option<Py<PyDict>>,
    /// For `formatException` and `formatStack`.
    formatter: Py<PyAny>,
}

enum Field {
    Text(String),
    Value {
        name: Py<PyString>,
        source: Source,
        how: Render,
        /// `LogRecord`'s class has an attribute of this name too.
        class_attribute: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Message,
    AscTime,
    Record,
}

enum Render {
    Percent {
        native: Option<spec::PercentSpec>,
        text: Py<PyString>,
    },
    Brace {
        conversion: Option<char>,
        spec: Py<PyString>,
        /// The spec is empty: `format(value, "")`.
        bare: bool,
    },
}

/// Python objects the renderer compares with or calls, imported once.
struct Known {
    formatter_type: Py<PyType>,
    record_type: Py<PyType>,
    percent_style: Py<PyType>,
    brace_style: Py<PyType>,
    localtime: Py<PyAny>,
    gmtime: Py<PyAny>,
    strftime: Py<PyAny>,
    format: Py<PyAny>,
    ascii: Py<PyAny>,
    default_formatter: Py<PyAny>,
}

static KNOWN: PyOnceLock<Known> = PyOnceLock::new();

fn known(py: Python<'_>) -> PyResult<&Known> {
    KNOWN.get_or_try_init(py, || {
        let logging = py.import("logging")?;
        let time = py.import("time")?;
        let builtins = py.import("builtins")?;
        Ok(Known {
            formatter_type: logging
                .getattr("Formatter")?
                .cast_into::<PyType>()?
                .unbind(),
            record_type: logging
                .getattr("LogRecord")?
                .cast_into::<PyType>()?
                .unbind(),
            percent_style: logging
                .getattr("PercentStyle")?
                .cast_into::<PyType>()?
                .unbind(),
            brace_style: logging
                .getattr("StrFormatStyle")?
                .cast_into::<PyType>()?
                .unbind(),
            localtime: time.getattr("localtime")?.unbind(),
            gmtime: time.getattr("gmtime")?.unbind(),
            strftime: time.getattr("strftime")?.unbind(),
            format: builtins.getattr("format")?.unbind(),
            ascii: builtins.getattr("ascii")?.unbind(),
            default_formatter: logging.getattr("_defaultFormatter")?.unbind(),
        })
    })
}

/// Methods whose override on a formatter instance means the compiled form
/// would not do what the formatter does.
const OVERRIDABLE: [&str; 4] = ["format", "formatTime", "formatMessage", "usesTime"];

impl LineFormat {
    /// Compiles `formatter` (`None`: logging's default, `%(message)s`).
    pub(crate) fn compile(py: Python<'_>, formatter: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let known = known(py)?;
        let effective = match formatter {
            Some(f) => f.clone(),
            None => known.default_formatter.bind(py).clone(),
        };
        Ok(LineFormat {
            formatter: formatter.map(|f| f.clone().unbind()),
            native: compile_native(py, known, &effective)?,
        })
    }

    /// Whether this was compiled from `formatter`.
    pub(crate) fn is_for(&self, formatter: Option<&Bound<'_, PyAny>>) -> bool {
        match (&self.formatter, formatter) {
            (None, None) => true,
            (Some(a), Some(b)) => a.as_ptr() == b.as_ptr(),
            _ => false,
        }
    }

    /// Appends `record`'s line (without terminator) to `out`; `Ok(false)`
    /// when the formatter must run in Python for this record.
    pub(crate) fn render(&self, record: &Bound<'_, PyAny>, out: &mut String) -> PyResult<bool> {
        let Some(native) = &self.native else {
            return Ok(false);
        };
        let py = record.py();
        let known = known(py)?;
        let plain = record.get_type().is(known.record_type.bind(py));
        let mut attrs = Attrs::new(record, plain);
        let message = message(py, plain, record)?;
        attrs.set(intern!(py, "message"), message.as_any())?;
        for part in &native.parts {
            match part {
                Field::Text(text) => out.push_str(text),
                Field::Value {
                    name,
                    source,
                    how,
                    class_attribute,
                } => {
                    let value = match source {
                        Source::Message => message.clone().into_any(),
                        Source::AscTime => match &native.asctime {
                            Some(asctime) if how.is_plain() => {
                                if !asctime.render(py, &attrs, out)? {
                                    return Ok(false);
                                }
                                continue;
                            }
                            Some(asctime) => {
                                let mut text = String::new();
                                if !asctime.render(py, &attrs, &mut text)? {
                                    return Ok(false);
                                }
                                PyString::new(py, &text).into_any()
                            }
                            None => return Ok(false),
                        },
                        Source::Record => {
                            let name = name.bind(py);
                            match attrs.field(name, *class_attribute)? {
                                Some(value) => value,
                                None => match &native.defaults {
                                    Some(defaults) => match defaults.bind(py).get_item(name)? {
                                        Some(value) => value,
                                        None => return Ok(false),
                                    },
                                    None => return Ok(false),
                                },
                            }
                        }
                    };
                    if !how.render(py, known, &value, out)? {
                        return Ok(false);
                    }
                }
            }
        }
        native.append_exception(py, &attrs, out)?;
        Ok(true)
    }
}

impl Native {
    /// `exc_text` (computing and caching it) and `stack_info`, each after a
    /// newline, as `Formatter.format` appends them.
    fn append_exception(
        &self,
        py: Python<'_>,
        attrs: &Attrs<'_, '_>,
        out: &mut String,
    ) -> PyResult<()> {
        let formatter = self.formatter.bind(py);
        if let Some(exc_info) = attrs.attr(intern!(py, "exc_info"))?
            && exc_info.is_truthy()?
        {
            let cached = attrs.attr(intern!(py, "exc_text"))?;
            if !cached.is_some_and(|t| t.is_truthy().unwrap_or(false)) {
                let text = formatter.call_method1(intern!(py, "formatException"), (exc_info,))?;
                attrs.set(intern!(py, "exc_text"), &text)?;
            }
        }
        if let Some(text) = attrs.attr(intern!(py, "exc_text"))?
            && text.is_truthy()?
        {
            end_line(out);
            push_str_of(&text, out)?;
        }
        if let Some(stack) = attrs.attr(intern!(py, "stack_info"))?
            && stack.is_truthy()?
        {
            end_line(out);
            let text = formatter.call_method1(intern!(py, "formatStack"), (stack,))?;
            push_str_of(&text, out)?;
        }
        Ok(())
    }
}

fn end_line(out: &mut String) {
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

/// `record.getMessage()`: for a plain `LogRecord`, `str(msg) % args` with
/// the C API; a subclass's own `getMessage` is called.
fn message<'py>(
    py: Python<'py>,
    plain: bool,
    record: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyString>> {
    if !plain {
        return record
            .call_method0(intern!(py, "getMessage"))?
            .cast_into::<PyString>()
            .map_err(Into::into);
    }
    let msg = record.getattr(intern!(py, "msg"))?;
    let args = record.getattr(intern!(py, "args"))?;
    let text = if msg.is_exact_instance_of::<PyString>() {
        msg
    } else {
        msg.str()?.into_any()
    };
    let text = if args.is_truthy()? {
        text.rem(args)?
    } else {
        text
    };
    text.cast_into::<PyString>().map_err(Into::into)
}

/// Appends a `str`'s text. Lone surrogates (which UTF-8 cannot hold) are
/// an error here; the engine applies the handler's `unicode_error_policy`
/// to the whole line, as Python CLH does.
pub(crate) fn push_str_of(value: &Bound<'_, PyAny>, out: &mut String) -> PyResult<()> {
    let text = value.cast::<PyString>()?;
    out.push_str(text.to_str()?);
    Ok(())
}

impl Render {
    fn is_plain(&self) -> bool {
        match self {
            Render::Percent {
                native: Some(spec), ..
            } => spec.is_plain() && spec.conversion == 's',
            Render::Percent { native: None, .. } => false,
            Render::Brace {
                conversion, bare, ..
            } => conversion.is_none() && *bare,
        }
    }

    /// Appends `value` rendered; `Ok(false)` when Python must render the
    /// whole record (a value `%d` refuses, say), so that it raises as
    /// Python would.
    fn render(
        &self,
        py: Python<'_>,
        known: &Known,
        value: &Bound<'_, PyAny>,
        out: &mut String,
    ) -> PyResult<bool> {
        match self {
            Render::Percent {
                native: Some(spec),
                text,
            } => {
                if render_percent(spec, value, out)? {
                    return Ok(true);
                }
                percent_in_python(text.bind(py), value, out)
            }
            Render::Percent { native: None, text } => percent_in_python(text.bind(py), value, out),
            Render::Brace {
                conversion,
                spec,
                bare,
            } => {
                let converted = match conversion {
                    None => value.clone(),
                    Some('r') => value.repr()?.into_any(),
                    Some('a') => known.ascii.bind(py).call1((value,))?,
                    Some(_) => value.str()?.into_any(),
                };
                if *bare && push_plain(&converted, out)? {
                    return Ok(true);
                }
                match known.format.bind(py).call1((converted, spec.bind(py))) {
                    Ok(text) => push_str_of(&text, out).map(|()| true),
                    Err(_) => Ok(false),
                }
            }
        }
    }
}

/// A `str` or an `int` written as `format(value, "")` and `str(value)`
/// write them; `false` for other types.
fn push_plain(value: &Bound<'_, PyAny>, out: &mut String) -> PyResult<bool> {
    if value.is_exact_instance_of::<PyString>() {
        push_str_of(value, out)?;
        return Ok(true);
    }
    if value.is_exact_instance_of::<PyInt>()
        && let Ok(n) = value.extract::<i64>()
    {
        let _ = write!(out, "{n}");
        return Ok(true);
    }
    Ok(false)
}

/// A `%` conversion done here; `false` for a value of a type it leaves to
/// Python.
fn render_percent(
    spec: &spec::PercentSpec,
    value: &Bound<'_, PyAny>,
    out: &mut String,
) -> PyResult<bool> {
    match spec.conversion {
        's' if spec.is_plain() => {
            if push_plain(value, out)? {
                return Ok(true);
            }
            push_str_of(&value.str()?.into_any(), out)?;
            Ok(true)
        }
        's' | 'r' | 'a' => {
            let text = match spec.conversion {
                's' => value.str()?,
                'r' => value.repr()?,
                _ => return Ok(false),
            };
            spec.push_text(text.to_str()?, out);
            Ok(true)
        }
        'd' | 'i' | 'u' => {
            let n = if value.is_exact_instance_of::<PyInt>() {
                match value.extract::<i64>() {
                    Ok(n) => n,
                    Err(_) => return Ok(false),
                }
            } else if value.is_exact_instance_of::<PyFloat>() {
                let x = value.cast::<PyFloat>()?.value().trunc();
                if !x.is_finite() || x.abs() >= 9.2e18 {
                    return Ok(false);
                }
                x as i64
            } else {
                return Ok(false);
            };
            spec.push_int(n, out);
            Ok(true)
        }
        'f' | 'F' => {
            let x = if value.is_exact_instance_of::<PyFloat>() {
                value.cast::<PyFloat>()?.value()
            } else if value.is_exact_instance_of::<PyInt>() {
                match value.extract::<i64>() {
                    Ok(n) if n.unsigned_abs() < (1 << 53) => n as f64,
                    _ => return Ok(false),
                }
            } else {
                return Ok(false);
            };
            Ok(spec.push_float(x, out))
        }
        _ => Ok(false),
    }
}

/// `text % (value,)`, by Python; `false` if Python refuses the value.
fn percent_in_python(
    text: &Bound<'_, PyString>,
    value: &Bound<'_, PyAny>,
    out: &mut String,
) -> PyResult<bool> {
    let args = PyTuple::new(text.py(), [value])?;
    match text.rem(args) {
        Ok(rendered) => push_str_of(&rendered, out).map(|()| true),
        Err(_) => Ok(false),
    }
}

fn compile_native(
    py: Python<'_>,
    known: &Known,
    formatter: &Bound<'_, PyAny>,
) -> PyResult<Option<Native>> {
    if !formatter.get_type().is(known.formatter_type.bind(py)) {
        return Ok(None);
    }
    if let Ok(own) = formatter.getattr(intern!(py, "__dict__"))
        && let Ok(own) = own.cast_into::<PyDict>()
    {
        for name in OVERRIDABLE {
            if own.contains(name)? {
                return Ok(None);
            }
        }
    }
    let style = formatter.getattr(intern!(py, "_style"))?;
    let fmt = style.getattr(intern!(py, "_fmt"))?;
    let Ok(fmt) = fmt.cast::<PyString>() else {
        return Ok(None);
    };
    let Ok(fmt) = fmt.to_str() else {
        return Ok(None);
    };
    let style_type = style.get_type();
    let parts = if style_type.is(known.percent_style.bind(py)) {
        template::parse_percent_style(fmt)
    } else if style_type.is(known.brace_style.bind(py)) {
        template::parse_brace_style(fmt)
    } else {
        None
    };
    let Some(parts) = parts else {
        return Ok(None);
    };
    let defaults = match style.getattr(intern!(py, "_defaults")) {
        Ok(d) if d.is_none() => None,
        Ok(d) => match d.cast_into::<PyDict>() {
            Ok(d) => Some(d.unbind()),
            Err(_) => return Ok(None),
        },
        Err(_) => None,
    };
    let uses_time = parts
        .iter()
        .any(|p| matches!(p, Part::Field { name, .. } if name == "asctime"));
    let asctime = if uses_time {
        match time::AscTime::from_formatter(py, known, formatter)? {
            Some(asctime) => Some(asctime),
            None => return Ok(None),
        }
    } else {
        None
    };
    let mut fields = Vec::with_capacity(parts.len());
    for part in parts {
        fields.push(match part {
            Part::Text(text) => Field::Text(text),
            Part::Field { name, how } => {
                let source = match name.as_str() {
                    "message" => Source::Message,
                    "asctime" => Source::AscTime,
                    _ => Source::Record,
                };
                let how = match how {
                    How::Percent { native, text } => Render::Percent {
                        native,
                        text: PyString::new(py, &text).unbind(),
                    },
                    How::Brace { conversion, spec } => Render::Brace {
                        conversion,
                        bare: spec.is_empty(),
                        spec: PyString::new(py, &spec).unbind(),
                    },
                };
                let class_attribute = known.record_type.bind(py).hasattr(name.as_str())?;
                Field::Value {
                    name: PyString::intern(py, &name).unbind(),
                    source,
                    how,
                    class_attribute,
                }
            }
        });
    }
    Ok(Some(Native {
        parts: fields,
        asctime,
        defaults,
        formatter: formatter.clone().unbind(),
    }))
}
