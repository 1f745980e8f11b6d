//! GGUF, the model container of the llama.cpp ecosystem (versions 2 and 3, little-endian).
//!
//! Layout: magic `GGUF`, u32 version, u64 tensor count, u64 metadata count, the metadata
//! key/value pairs, the tensor infos (name, dims with ne0 first, ggml type, offset relative
//! to the data section), padding to `general.alignment` (default 32), then the tensor data.
//!
//! [`GgufFile::parse`] borrows the file's bytes and copies no tensor data; [`GgufWriter`]
//! builds a v3 file.

mod reader;
mod value;
mod writer;

pub use value::{Array, FromValue, Value, ValueType};
pub use writer::GgufWriter;

use crate::compute::{SharedBytes, WeightSource};
use crate::error::{AttuneError, Result};
use crate::quant::GgmlType;
use std::collections::HashMap;

/// The four bytes every GGUF file starts with.
pub const MAGIC: &[u8; 4] = b"GGUF";
/// Alignment of the data section and of every tensor when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: usize = 32;
/// Most dimensions a tensor may have (ggml's `GGML_MAX_DIMS`).
pub const MAX_DIMS: usize = 4;
/// Deepest nesting of metadata arrays the reader accepts (an array of arrays is depth 2).
pub const MAX_ARRAY_DEPTH: usize = 8;
/// Most metadata keys a file may have. Real models have dozens; each key costs far more in
/// memory than its few bytes on disk, so a flood of tiny keys is refused from the count alone.
pub const MAX_METADATA_ENTRIES: usize = 65_536;
/// Decoded metadata (its estimated size in memory) may take this many bytes beyond
/// [`METADATA_AMPLIFICATION`] times the bytes it was read from: room for a whole small
/// vocabulary whatever its token lengths.
pub const METADATA_FLOOR: usize = 8 << 20;
/// See [`METADATA_FLOOR`]. Token and merge lists decode to a few times their size on disk;
/// arrays of empty or one-byte strings to more, and they are refused once past the floor.
pub const METADATA_AMPLIFICATION: usize = 4;

/// One tensor's entry in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions, ne0 (the contiguous one) first, as GGUF stores them.
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// Offset of the data relative to the start of the data section.
    pub offset: u64,
    pub n_elements: usize,
    pub n_bytes: usize,
    /// Absolute offset of the data in the file.
    pub file_offset: usize,
}

impl TensorInfo {
    /// Length of a row (ne0); 1 for a scalar.
    pub fn cols(&self) -> usize {
        self.dims.first().map_or(1, |&d| d as usize)
    }

    /// Number of rows: the product of the dims after ne0 (1 for 0-D and 1-D tensors).
    pub fn rows(&self) -> usize {
        self.dims
            .iter()
            .skip(1)
            .fold(1usize, |a, &d| a.saturating_mul(d as usize))
    }
}

/// A parsed GGUF file borrowing its bytes.
#[derive(Clone, Debug)]
pub struct GgufFile<'a> {
    bytes: &'a [u8],
    version: u32,
    alignment: usize,
    data_offset: usize,
    metadata: Vec<(String, Value)>,
    meta_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
}

impl<'a> GgufFile<'a> {
    /// Parses a whole GGUF file. Malformed or truncated input gives `ModelFormat`; a version
    /// or tensor type this build does not support gives `ModelUnsupported`. Never panics.
    pub fn parse(bytes: &'a [u8]) -> Result<GgufFile<'a>> {
        reader::parse(bytes)
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn alignment(&self) -> usize {
        self.alignment
    }

    /// Absolute offset of the data section.
    pub fn data_offset(&self) -> usize {
        self.data_offset
    }

    /// The bytes the file was parsed from.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// All metadata, in file order.
    pub fn metadata(&self) -> &[(String, Value)] {
        &self.metadata
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.meta_index.get(key).map(|&i| &self.metadata[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.meta_index.contains_key(key)
    }

    /// A typed value: `ModelUnsupported` when the key is missing or its value does not
    /// convert (integers convert between types when the value fits).
    pub fn value<'s, T: FromValue<'s>>(&'s self, key: &str) -> Result<T> {
        self.opt(key)?
            .ok_or_else(|| AttuneError::ModelUnsupported(format!("missing key {key}")))
    }

    /// Like [`value`](Self::value), but a missing key gives `Ok(None)`.
    pub fn opt<'s, T: FromValue<'s>>(&'s self, key: &str) -> Result<Option<T>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => T::from_value(v)
                .map(Some)
                .ok_or_else(|| value::type_mismatch(key, T::EXPECTED, v)),
        }
    }

    pub fn u32(&self, key: &str) -> Result<u32> {
        self.value(key)
    }

    pub fn u64(&self, key: &str) -> Result<u64> {
        self.value(key)
    }

    pub fn i32(&self, key: &str) -> Result<i32> {
        self.value(key)
    }

    pub fn usize(&self, key: &str) -> Result<usize> {
        self.value(key)
    }

    /// An f32 (an f64 value is narrowed).
    pub fn f32(&self, key: &str) -> Result<f32> {
        self.value(key)
    }

    pub fn bool(&self, key: &str) -> Result<bool> {
        self.value(key)
    }

    pub fn str(&self, key: &str) -> Result<&str> {
        self.value(key)
    }

    pub fn str_array(&self, key: &str) -> Result<&[String]> {
        self.value(key)
    }

    pub fn array(&self, key: &str) -> Result<&Array> {
        self.value(key)
    }

    /// An integer array of any element type as i32 (each value must fit).
    pub fn i32_array(&self, key: &str) -> Result<Vec<i32>> {
        self.int_array(key)
    }

    /// An integer array of any element type as u32 (each value must fit).
    pub fn u32_array(&self, key: &str) -> Result<Vec<u32>> {
        self.int_array(key)
    }

    fn int_array<T: TryFrom<i128>>(&self, key: &str) -> Result<Vec<T>> {
        let v = self
            .get(key)
            .ok_or_else(|| AttuneError::ModelUnsupported(format!("missing key {key}")))?;
        let mismatch = || value::type_mismatch(key, "integer array", v);
        let wide = v
            .as_array()
            .and_then(Array::to_i128s)
            .ok_or_else(mismatch)?;
        wide.into_iter()
            .map(|x| {
                T::try_from(x).map_err(|_| {
                    AttuneError::ModelUnsupported(format!(
                        "metadata key {key}: value {x} out of range"
                    ))
                })
            })
            .collect()
    }

    /// An f32 array (f64 elements are narrowed).
    pub fn f32_array(&self, key: &str) -> Result<Vec<f32>> {
        let v = self
            .get(key)
            .ok_or_else(|| AttuneError::ModelUnsupported(format!("missing key {key}")))?;
        match v {
            Value::Array(Array::F32(a)) => Ok(a.clone()),
            Value::Array(Array::F64(a)) => Ok(a.iter().map(|&x| x as f32).collect()),
            _ => Err(value::type_mismatch(key, "f32 array", v)),
        }
    }

    /// `general.architecture` ("llama", "bert", ...).
    pub fn architecture(&self) -> Result<&str> {
        self.str("general.architecture")
    }

    /// All tensor infos, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    /// A tensor's info, or `ModelUnsupported("missing tensor ...")`.
    pub fn require_tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.tensor(name)
            .ok_or_else(|| AttuneError::ModelUnsupported(format!("missing tensor {name}")))
    }

    /// The raw bytes of a tensor of this file (checked at parse). An info from another
    /// file whose range does not lie in this one gives an empty slice.
    pub fn tensor_data(&self, info: &TensorInfo) -> &'a [u8] {
        info.file_offset
            .checked_add(info.n_bytes)
            .and_then(|end| self.bytes.get(info.file_offset..end))
            .unwrap_or(&[])
    }

    /// A weight for a backend: `rows` = product of dims[1..], `cols` = dims[0], data in
    /// place in `shared`, which must be the very buffer this file was parsed from.
    pub fn weight_source(&self, info: &TensorInfo, shared: &SharedBytes) -> Result<WeightSource> {
        if shared.as_ptr() != self.bytes.as_ptr() || shared.len() != self.bytes.len() {
            return Err(AttuneError::InvalidArgument(
                "weight_source needs the buffer the GGUF file was parsed from".into(),
            ));
        }
        let src = WeightSource {
            name: info.name.clone(),
            dtype: info.ty,
            rows: info.rows(),
            cols: info.cols(),
            bytes: shared.clone(),
            offset: info.file_offset,
        };
        src.data()?; // bounds and size agree
        Ok(src)
    }

    /// [`weight_source`](Self::weight_source) by name; a missing tensor is `ModelUnsupported`.
    pub fn weight(&self, name: &str, shared: &SharedBytes) -> Result<WeightSource> {
        self.weight_source(self.require_tensor(name)?, shared)
    }
}

#[cfg(test)]
mod tests;
