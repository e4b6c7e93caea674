//! A record's attributes read as `Formatter.format` reads them, without
//! asking for `record.__dict__` when that gives the same answer.
//!
//! A `%` or `{` style takes its fields from `record.__dict__`. On CPython
//! 3.11 and later, an object's attributes live inline until something asks
//! for `__dict__`, which then builds a dictionary (and the garbage collector
//! tracks it): a cost per record that `getattr` does not have. For a plain
//! `logging.LogRecord`, `getattr(record, name)` finds exactly what
//! `record.__dict__[name]` holds whenever `name` is not also an attribute of
//! the class (`getMessage`, `__class__`, …), so that is what is used; a
//! record of a subclass (which may define properties) or such a name goes
//! through `__dict__`.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// One record's attributes.
pub(crate) struct Attrs<'a, 'py> {
    record: &'a Bound<'py, PyAny>,
    /// A plain `LogRecord`.
    plain: bool,
    /// `record.__dict__`, once asked for.
    dict: Option<Bound<'py, PyDict>>,
}

impl<'a, 'py> Attrs<'a, 'py> {
    pub(crate) fn new(record: &'a Bound<'py, PyAny>, plain: bool) -> Self {
        Attrs {
            record,
            plain,
            dict: None,
        }
    }

    /// `record.__dict__.get(name)`; `class_attribute`: `LogRecord`'s class
    /// also has an attribute of that name.
    pub(crate) fn field(
        &mut self,
        name: &Bound<'py, PyString>,
        class_attribute: bool,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.plain && !class_attribute {
            return self.record.getattr_opt(name);
        }
        self.dict()?.get_item(name)
    }

    /// `getattr(record, name, None)`, as `Formatter.format` reads
    /// `exc_info`, `created` and the like.
    pub(crate) fn attr(&self, name: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.record.getattr_opt(name)
    }

    /// `record.name = value`, as `Formatter.format` sets `message`.
    pub(crate) fn set(
        &self,
        name: &Bound<'py, PyString>,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        self.record.setattr(name, value)
    }

    fn dict(&mut self) -> PyResult<&Bound<'py, PyDict>> {
        if self.dict.is_none() {
            let py = self.record.py();
            let dict = self
                .record
                .getattr(intern!(py, "__dict__"))?
                .cast_into::<PyDict>()?;
            self.dict = Some(dict);
        }
        match &self.dict {
            Some(dict) => Ok(dict),
            None => unreachable_dict(),
        }
    }
}

/// `dict` was just set; a typed error rather than a panic all the same.
fn unreachable_dict<T>() -> PyResult<T> {
    Err(pyo3::exceptions::PyRuntimeError::new_err(
        "record.__dict__ vanished",
    ))
}
