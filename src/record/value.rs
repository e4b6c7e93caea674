//! [`Value`]: what a record's field holds, typed.

use std::borrow::Cow;
use std::fmt;

/// The value of a record's field: an integer, a float, a boolean or a
/// string, kept as the caller gave it, so that a format can write each as
/// itself (JSON numbers and booleans, unquoted text) and a number or a
/// `&'static str` costs no allocation. Anything else is rendered once, in
/// the caller, with [`Value::display`] or [`Value::debug`].
///
/// ```
/// use concurrent_log_handler::Value;
///
/// assert_eq!(Value::from(42u8), Value::U64(42));
/// assert_eq!(Value::from(-3), Value::I64(-3));
/// assert_eq!(Value::from("static").as_str(), Some("static"));
/// assert_eq!(Value::debug(Some(1)).to_string(), "Some(1)");
/// assert_eq!(Value::F64(0.5).to_string(), "0.5");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// Text: borrowed for `&'static str`, owned otherwise.
    Str(Cow<'static, str>),
}

impl Value {
    /// A value rendered with [`Display`](fmt::Display), now, in the caller.
    pub fn display(value: impl fmt::Display) -> Value {
        Value::Str(Cow::Owned(value.to_string()))
    }

    /// A value rendered with [`Debug`](fmt::Debug), now, in the caller.
    pub fn debug(value: impl fmt::Debug) -> Value {
        Value::Str(Cow::Owned(format!("{value:?}")))
    }

    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    /// The integer, if this is one that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I64(n) => Some(n),
            Value::U64(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    /// The integer, if this is one that fits a `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U64(n) => Some(n),
            Value::I64(n) => u64::try_from(n).ok(),
            _ => None,
        }
    }

    /// The number as a float, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F64(x) => Some(x),
            Value::I64(n) => Some(n as f64),
            Value::U64(n) => Some(n as f64),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// The text the text format writes (before its escaping and quoting).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I64(n) => fmt::Display::fmt(n, f),
            Value::U64(n) => fmt::Display::fmt(n, f),
            Value::F64(x) => fmt::Display::fmt(x, f),
            Value::Bool(b) => fmt::Display::fmt(b, f),
            Value::Str(text) => f.write_str(text),
        }
    }
}

macro_rules! from_integers {
    ($variant:ident as $wide:ty: $($narrow:ty),*) => {$(
        impl From<$narrow> for Value {
            fn from(n: $narrow) -> Value {
                Value::$variant(<$wide>::from(n))
            }
        }
    )*};
}
from_integers!(I64 as i64: i8, i16, i32, i64);
from_integers!(U64 as u64: u8, u16, u32, u64);

impl From<isize> for Value {
    fn from(n: isize) -> Value {
        // isize is at most 64 bits on every platform Rust supports.
        Value::I64(n as i64)
    }
}

impl From<usize> for Value {
    fn from(n: usize) -> Value {
        Value::U64(n as u64)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::F64(x)
    }
}

impl From<f32> for Value {
    fn from(x: f32) -> Value {
        Value::F64(f64::from(x))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&'static str> for Value {
    fn from(text: &'static str) -> Value {
        Value::Str(Cow::Borrowed(text))
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::Str(Cow::Owned(text))
    }
}

impl From<Cow<'static, str>> for Value {
    fn from(text: Cow<'static, str>) -> Value {
        Value::Str(text)
    }
}

impl From<char> for Value {
    fn from(c: char) -> Value {
        Value::Str(Cow::Owned(c.to_string()))
    }
}

impl From<&String> for Value {
    fn from(text: &String) -> Value {
        Value::Str(Cow::Owned(text.clone()))
    }
}
