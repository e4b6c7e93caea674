//! `%(asctime)s`: what `Formatter.formatTime` returns, with `time.strftime`
//! called once per second rather than once per record.
//!
//! `formatTime` is `time.strftime(datefmt, converter(created))`, or without
//! a `datefmt`, `default_msec_format % (strftime(default_time_format, …),
//! msecs)`. The converters this accepts (`time.localtime`, `time.gmtime`)
//! look only at the whole second (they floor `created`), so the strftime
//! text of a second is computed by Python itself, with the locale and time
//! zone Python uses, and reused for every record of that second.

use std::sync::Mutex;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyString};

use super::Known;
use super::attrs::Attrs;
use super::spec::PercentSpec;

/// The compiled `formatTime` of one formatter.
pub(crate) struct AscTime {
    converter: Py<PyAny>,
    strftime: Py<PyAny>,
    /// The strftime format: `datefmt`, or `default_time_format`.
    format: Py<PyString>,
    /// The text between the seconds and the milliseconds (`,` by default);
    /// `None` when no milliseconds are appended (a `datefmt` is set, or
    /// `default_msec_format` is empty).
    msec_separator: Option<String>,
    /// The last second rendered, and its text.
    last: Mutex<Option<(i64, String)>>,
}

/// `%03d`.
const MILLIS: PercentSpec = PercentSpec {
    left: false,
    zero: true,
    plus: false,
    space: false,
    width: 3,
    precision: None,
    conversion: 'd',
};

impl AscTime {
    /// `None` when the formatter's time format is one this module does not
    /// reproduce (another converter, an unusual `default_msec_format`).
    pub(crate) fn from_formatter(
        py: Python<'_>,
        known: &Known,
        formatter: &Bound<'_, PyAny>,
    ) -> PyResult<Option<AscTime>> {
        let converter = formatter.getattr(intern!(py, "converter"))?;
        if !(converter.is(known.localtime.bind(py)) || converter.is(known.gmtime.bind(py))) {
            return Ok(None);
        }
        let datefmt = formatter.getattr(intern!(py, "datefmt"))?;
        let (format, msec_separator) = if datefmt.is_truthy()? {
            (datefmt, None)
        } else {
            let format = formatter.getattr(intern!(py, "default_time_format"))?;
            let msec = formatter.getattr(intern!(py, "default_msec_format"))?;
            let separator = if msec.is_truthy()? {
                let Ok(msec) = msec.cast::<PyString>() else {
                    return Ok(None);
                };
                match msec_separator(msec.to_str()?) {
                    Some(separator) => Some(separator.to_owned()),
                    None => return Ok(None),
                }
            } else {
                None
            };
            (format, separator)
        };
        let Ok(format) = format.cast_into::<PyString>() else {
            return Ok(None);
        };
        Ok(Some(AscTime {
            converter: converter.unbind(),
            strftime: known.strftime.clone_ref(py),
            format: format.unbind(),
            msec_separator,
            last: Mutex::new(None),
        }))
    }

    /// Appends the record's `asctime`; `Ok(false)` when `created` or
    /// `msecs` is not a number (Python then renders, and raises).
    pub(crate) fn render(
        &self,
        py: Python<'_>,
        attrs: &Attrs<'_, '_>,
        out: &mut String,
    ) -> PyResult<bool> {
        let Some(created) = number(attrs.attr(intern!(py, "created"))?) else {
            return Ok(false);
        };
        if !created.is_finite() {
            return Ok(false);
        }
        let second = created.floor() as i64;
        {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            match &*last {
                Some((cached, text)) if *cached == second => out.push_str(text),
                _ => {
                    let tm = self.converter.bind(py).call1((second,))?;
                    let text = self.strftime.bind(py).call1((self.format.bind(py), tm))?;
                    let text = text.cast::<PyString>()?.to_str()?.to_owned();
                    out.push_str(&text);
                    *last = Some((second, text));
                }
            }
        }
        if let Some(separator) = &self.msec_separator {
            let Some(msecs) = number(attrs.attr(intern!(py, "msecs"))?) else {
                return Ok(false);
            };
            if !msecs.is_finite() {
                return Ok(false);
            }
            out.push_str(separator);
            MILLIS.push_int(msecs.trunc() as i64, out);
        }
        Ok(true)
    }
}

/// `x` of an exact `float` or `int`.
fn number(value: Option<Bound<'_, PyAny>>) -> Option<f64> {
    let value = value?;
    if value.is_exact_instance_of::<PyFloat>() {
        return value.cast::<PyFloat>().ok().map(|f| f.value());
    }
    if value.is_exact_instance_of::<PyInt>() {
        return value.extract::<i64>().ok().map(|n| n as f64);
    }
    None
}

/// The separator of a `default_msec_format` of the form `%s<sep>%03d`.
fn msec_separator(format: &str) -> Option<&str> {
    let separator = format.strip_prefix("%s")?.strip_suffix("%03d")?;
    (!separator.contains('%')).then_some(separator)
}

#[cfg(test)]
mod tests {
    use super::msec_separator;

    #[test]
    fn the_separator_of_python_msec_formats() {
        assert_eq!(msec_separator("%s,%03d"), Some(","));
        assert_eq!(msec_separator("%s.%03d"), Some("."));
        assert_eq!(msec_separator("%s%%%03d"), None);
        assert_eq!(msec_separator("%s,%06d"), None);
    }
}
