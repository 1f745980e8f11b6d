//! GGUF metadata values: the thirteen on-disk types, with arrays stored compactly per element
//! type (so a million-entry `u8` array costs a megabyte, not thirty-two).

use crate::error::{AttuneError, Result};

/// The on-disk type tags of GGUF metadata values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ValueType {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
}

impl ValueType {
    pub fn from_id(id: u32) -> Option<ValueType> {
        use ValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    pub fn id(self) -> u32 {
        self as u32
    }

    pub fn name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "u8",
            I8 => "i8",
            U16 => "u16",
            I16 => "i16",
            U32 => "u32",
            I32 => "i32",
            F32 => "f32",
            Bool => "bool",
            String => "string",
            Array => "array",
            U64 => "u64",
            I64 => "i64",
            F64 => "f64",
        }
    }

    /// The fewest bytes one value of this type takes on disk: fixed-size types their size,
    /// a string its 8-byte length, an array its 4-byte type tag and 8-byte count.
    pub fn min_size(self) -> usize {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => 1,
            U16 | I16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 | String => 8,
            Array => 12,
        }
    }
}

/// One metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Array),
}

/// A homogeneous array. Nested arrays may each have their own element type.
#[derive(Clone, Debug, PartialEq)]
pub enum Array {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    String(Vec<String>),
    Array(Vec<Array>),
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F32(_) => ValueType::F32,
            Value::F64(_) => ValueType::F64,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Array(_) => ValueType::Array,
        }
    }

    /// A short description for error messages: `u32`, `array of string`, ...
    pub fn type_name(&self) -> String {
        match self {
            Value::Array(a) => format!("array of {}", a.elem_type().name()),
            v => v.value_type().name().to_string(),
        }
    }

    /// The value of any integer type, widened (floats, bools and strings give `None`).
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Value::U8(v) => v.into(),
            Value::I8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U64(v) => v.into(),
            Value::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// The value of a float type (f32 or f64) as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

impl Array {
    pub fn elem_type(&self) -> ValueType {
        match self {
            Array::U8(_) => ValueType::U8,
            Array::I8(_) => ValueType::I8,
            Array::U16(_) => ValueType::U16,
            Array::I16(_) => ValueType::I16,
            Array::U32(_) => ValueType::U32,
            Array::I32(_) => ValueType::I32,
            Array::U64(_) => ValueType::U64,
            Array::I64(_) => ValueType::I64,
            Array::F32(_) => ValueType::F32,
            Array::F64(_) => ValueType::F64,
            Array::Bool(_) => ValueType::Bool,
            Array::String(_) => ValueType::String,
            Array::Array(_) => ValueType::Array,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Array::U8(v) => v.len(),
            Array::I8(v) => v.len(),
            Array::U16(v) => v.len(),
            Array::I16(v) => v.len(),
            Array::U32(v) => v.len(),
            Array::I32(v) => v.len(),
            Array::U64(v) => v.len(),
            Array::I64(v) => v.len(),
            Array::F32(v) => v.len(),
            Array::F64(v) => v.len(),
            Array::Bool(v) => v.len(),
            Array::String(v) => v.len(),
            Array::Array(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Nesting depth: 1 for an array of scalars, 2 for an array of arrays of scalars, ...
    pub fn depth(&self) -> usize {
        match self {
            Array::Array(v) => 1 + v.iter().map(Array::depth).max().unwrap_or(0),
            _ => 1,
        }
    }

    /// Every element of an integer array, widened; `None` for non-integer arrays.
    pub fn to_i128s(&self) -> Option<Vec<i128>> {
        fn w<T: Copy + Into<i128>>(v: &[T]) -> Vec<i128> {
            v.iter().map(|&x| x.into()).collect()
        }
        Some(match self {
            Array::U8(v) => w(v),
            Array::I8(v) => w(v),
            Array::U16(v) => w(v),
            Array::I16(v) => w(v),
            Array::U32(v) => w(v),
            Array::I32(v) => w(v),
            Array::U64(v) => w(v),
            Array::I64(v) => w(v),
            _ => return None,
        })
    }
}

macro_rules! from_scalar {
    ($($t:ty => $v:ident),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(x: $t) -> Value { Value::$v(x) }
        }
        impl From<Vec<$t>> for Array {
            fn from(x: Vec<$t>) -> Array { Array::$v(x) }
        }
        impl From<Vec<$t>> for Value {
            fn from(x: Vec<$t>) -> Value { Value::Array(Array::$v(x)) }
        }
    )*};
}

from_scalar!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, u64 => U64,
    i64 => I64, f32 => F32, f64 => F64, bool => Bool, String => String);

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<Array> for Value {
    fn from(a: Array) -> Value {
        Value::Array(a)
    }
}

impl From<Vec<Array>> for Value {
    fn from(a: Vec<Array>) -> Value {
        Value::Array(Array::Array(a))
    }
}

/// Conversion from a metadata value for the typed getters of
/// [`GgufFile`](super::GgufFile). Integer targets accept any integer type whose value fits,
/// since writers differ (`u32` in one file, `i32` or `u64` in another).
pub trait FromValue<'v>: Sized {
    /// What the caller asked for, for error messages.
    const EXPECTED: &'static str;
    fn from_value(v: &'v Value) -> Option<Self>;
}

macro_rules! from_value_int {
    ($($t:ty),*) => {$(
        impl<'v> FromValue<'v> for $t {
            const EXPECTED: &'static str = stringify!($t);
            fn from_value(v: &'v Value) -> Option<Self> {
                v.as_i128().and_then(|x| <$t>::try_from(x).ok())
            }
        }
    )*};
}

from_value_int!(u8, i8, u16, i16, u32, i32, u64, i64, usize);

impl<'v> FromValue<'v> for f32 {
    const EXPECTED: &'static str = "f32";
    fn from_value(v: &'v Value) -> Option<Self> {
        v.as_f64().map(|x| x as f32)
    }
}

impl<'v> FromValue<'v> for f64 {
    const EXPECTED: &'static str = "f64";
    fn from_value(v: &'v Value) -> Option<Self> {
        v.as_f64()
    }
}

impl<'v> FromValue<'v> for bool {
    const EXPECTED: &'static str = "bool";
    fn from_value(v: &'v Value) -> Option<Self> {
        v.as_bool()
    }
}

impl<'v> FromValue<'v> for &'v str {
    const EXPECTED: &'static str = "string";
    fn from_value(v: &'v Value) -> Option<Self> {
        v.as_str()
    }
}

impl<'v> FromValue<'v> for &'v [String] {
    const EXPECTED: &'static str = "array of string";
    fn from_value(v: &'v Value) -> Option<Self> {
        match v {
            Value::Array(Array::String(s)) => Some(s),
            _ => None,
        }
    }
}

impl<'v> FromValue<'v> for &'v Array {
    const EXPECTED: &'static str = "array";
    fn from_value(v: &'v Value) -> Option<Self> {
        v.as_array()
    }
}

/// `ModelUnsupported` for a key whose value has the wrong type.
pub(crate) fn type_mismatch(key: &str, expected: &str, v: &Value) -> AttuneError {
    AttuneError::ModelUnsupported(format!(
        "metadata key {key}: expected {expected}, found {}",
        v.type_name()
    ))
}

/// Checks that `x` is a valid GGUF alignment: a nonzero power of two that fits in u32.
pub(crate) fn check_alignment(x: u64) -> Result<usize> {
    if x == 0 || !x.is_power_of_two() || x > u32::MAX as u64 {
        return Err(AttuneError::ModelFormat(format!(
            "general.alignment {x} is not a nonzero power of two"
        )));
    }
    usize::try_from(x).map_err(|_| AttuneError::ModelFormat("alignment too large".into()))
}
