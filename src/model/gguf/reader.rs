//! Parsing GGUF v2/v3 from a byte slice. Every read is bounds-checked, and every count read
//! from the file is checked against the bytes left before anything is allocated for it.

use super::value::{check_alignment, Array, Value, ValueType};
use super::{GgufFile, TensorInfo, DEFAULT_ALIGNMENT, MAGIC, MAX_ARRAY_DEPTH, MAX_DIMS};
use super::{MAX_METADATA_ENTRIES, METADATA_AMPLIFICATION, METADATA_FLOOR};
use crate::error::{AttuneError, Result};
use crate::quant::GgmlType;
use std::collections::HashMap;

fn format_err(msg: impl Into<String>) -> AttuneError {
    AttuneError::ModelFormat(msg.into())
}

/// What a string's text costs in memory: when not empty, a heap block (rounded up, plus the
/// allocator's header).
fn heap_cost(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len.saturating_add(16).next_multiple_of(16)
    }
}

const STRING_SLOT: usize = std::mem::size_of::<String>();

/// A forward-only reader over the file's bytes, keeping count of the metadata it decoded.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    decoded: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0, decoded: 0 }
    }

    /// Counts `bytes` of decoded metadata, for data that lies in the `ahead` bytes after the
    /// cursor (already checked to be there), and refuses a total over the budget: a file of
    /// many tiny keys or strings fails before its decoded form grows far past its own size.
    fn charge(&mut self, bytes: usize, ahead: usize, what: &str) -> Result<()> {
        self.decoded = self.decoded.saturating_add(bytes);
        let read = self.pos.saturating_add(ahead);
        let budget = METADATA_FLOOR.saturating_add(read.saturating_mul(METADATA_AMPLIFICATION));
        if self.decoded > budget {
            return Err(format_err(format!(
                "{what} at offset {}: the metadata would take over {budget} bytes in memory, more than {METADATA_AMPLIFICATION} times the {read} bytes it comes from (plus {METADATA_FLOOR})",
                self.pos
            )));
        }
        Ok(())
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(format_err(format!(
                "truncated file: {what} at offset {} needs {n} bytes, only {} left",
                self.pos,
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Reads a u64 count of items that each take at least `min_size` bytes, and checks that
    /// that many could fit in what is left of the file.
    fn count(&mut self, min_size: usize, what: &str) -> Result<usize> {
        let at = self.pos;
        let n = self.u64(what)?;
        let fits = (self.remaining() / min_size.max(1)) as u64;
        if n > fits {
            return Err(format_err(format!(
                "{what} {n} at offset {at} is larger than the rest of the file allows ({} bytes left)",
                self.remaining()
            )));
        }
        Ok(n as usize)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        self.string_in(STRING_SLOT, what)
    }

    /// A string whose `String` costs `slot` bytes: none when its array's vector was charged.
    fn string_in(&mut self, slot: usize, what: &str) -> Result<String> {
        let at = self.pos;
        let len = self.u64(what)?;
        if len > self.remaining() as u64 {
            return Err(format_err(format!(
                "{what} at offset {at}: string length {len} exceeds the {} bytes left",
                self.remaining()
            )));
        }
        self.charge(slot + heap_cost(len as usize), len as usize, what)?;
        let bytes = self.take(len as usize, what)?;
        // GGUF strings are UTF-8; a stray invalid sequence (seen in some token lists) is
        // replaced rather than failing the whole file.
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn value_type(&mut self, what: &str) -> Result<ValueType> {
        let at = self.pos;
        let id = self.u32(what)?;
        ValueType::from_id(id)
            .ok_or_else(|| format_err(format!("{what} at offset {at}: unknown value type {id}")))
    }

    fn value(&mut self, ty: ValueType, key: &str) -> Result<Value> {
        let what = key;
        Ok(match ty {
            ValueType::U8 => Value::U8(u8::from_le_bytes(self.array(what)?)),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.array(what)?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(what)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(what)?)),
            ValueType::U32 => Value::U32(u32::from_le_bytes(self.array(what)?)),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(what)?)),
            ValueType::U64 => Value::U64(u64::from_le_bytes(self.array(what)?)),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(what)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(what)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(what)?)),
            ValueType::Bool => Value::Bool(self.bool(what)?),
            ValueType::String => Value::String(self.string(what)?),
            ValueType::Array => Value::Array(self.array_value(key, 1)?),
        })
    }

    fn bool(&mut self, what: &str) -> Result<bool> {
        let at = self.pos;
        match self.array::<1>(what)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format_err(format!(
                "{what} at offset {at}: bool byte {b} is neither 0 nor 1"
            ))),
        }
    }

    /// Fixed-size elements: one bounds check, then decode.
    fn fixed<T, const N: usize>(
        &mut self,
        n: usize,
        key: &str,
        f: fn([u8; N]) -> T,
    ) -> Result<Vec<T>> {
        let bytes = self.take(n * N, key)?; // n * N <= remaining, checked by `count`
        Ok(bytes
            .chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                f(a)
            })
            .collect())
    }

    fn array_value(&mut self, key: &str, depth: usize) -> Result<Array> {
        if depth > MAX_ARRAY_DEPTH {
            return Err(format_err(format!(
                "metadata key {key}: arrays nested deeper than {MAX_ARRAY_DEPTH}"
            )));
        }
        let ty = self.value_type(&format!("array type of {key}"))?;
        let n = self.count(ty.min_size(), &format!("array length of {key}"))?;
        // The vector itself, before any element is read; strings also charge their text.
        let slot = match ty {
            ValueType::String => STRING_SLOT,
            ValueType::Array => std::mem::size_of::<Array>(),
            _ => ty.min_size(),
        };
        self.charge(n.saturating_mul(slot), n.saturating_mul(ty.min_size()), key)?;
        Ok(match ty {
            ValueType::U8 => Array::U8(self.fixed(n, key, u8::from_le_bytes)?),
            ValueType::I8 => Array::I8(self.fixed(n, key, i8::from_le_bytes)?),
            ValueType::U16 => Array::U16(self.fixed(n, key, u16::from_le_bytes)?),
            ValueType::I16 => Array::I16(self.fixed(n, key, i16::from_le_bytes)?),
            ValueType::U32 => Array::U32(self.fixed(n, key, u32::from_le_bytes)?),
            ValueType::I32 => Array::I32(self.fixed(n, key, i32::from_le_bytes)?),
            ValueType::U64 => Array::U64(self.fixed(n, key, u64::from_le_bytes)?),
            ValueType::I64 => Array::I64(self.fixed(n, key, i64::from_le_bytes)?),
            ValueType::F32 => Array::F32(self.fixed(n, key, f32::from_le_bytes)?),
            ValueType::F64 => Array::F64(self.fixed(n, key, f64::from_le_bytes)?),
            ValueType::Bool => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.bool(key)?);
                }
                Array::Bool(v)
            }
            ValueType::String => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.string_in(0, key)?);
                }
                Array::String(v)
            }
            ValueType::Array => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.array_value(key, depth + 1)?);
                }
                Array::Array(v)
            }
        })
    }
}

/// Checks magic and version; returns the version.
fn header(cur: &mut Cursor<'_>) -> Result<u32> {
    let magic = cur.take(4, "magic")?;
    if magic != MAGIC {
        return Err(format_err(format!(
            "not a GGUF file: magic is {magic:02x?}, expected \"GGUF\""
        )));
    }
    let version = cur.u32("version")?;
    match version {
        2 | 3 => Ok(version),
        1 => Err(AttuneError::ModelUnsupported(
            "GGUF version 1 is not supported (only versions 2 and 3)".into(),
        )),
        v if (1..=3).contains(&v.swap_bytes()) => Err(AttuneError::ModelUnsupported(format!(
            "big-endian GGUF (version {}) is not supported; convert it to little-endian",
            v.swap_bytes()
        ))),
        4..=255 => Err(AttuneError::ModelUnsupported(format!(
            "GGUF version {version} is newer than this build reads (2 and 3)"
        ))),
        _ => Err(format_err(format!(
            "GGUF version {version} is not a valid version"
        ))),
    }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<GgufFile<'_>> {
    let mut cur = Cursor::new(bytes);
    let version = header(&mut cur)?;
    // Each tensor info takes at least 24 bytes (name length, dim count, type, offset);
    // each key/value at least 13 (key length, type tag, one byte of value).
    let n_tensors = cur.count(24, "tensor count")?;
    let n_kv = cur.count(13, "metadata count")?;
    if n_kv > MAX_METADATA_ENTRIES {
        return Err(format_err(format!(
            "metadata count {n_kv} is more than the {MAX_METADATA_ENTRIES} keys accepted"
        )));
    }

    let mut metadata: Vec<(String, Value)> = Vec::with_capacity(n_kv);
    let mut meta_index = HashMap::with_capacity(n_kv);
    for i in 0..n_kv {
        let at = cur.pos();
        let key = cur.string(&format!("metadata key #{i}"))?;
        // The entry's slot, and the key's copy in the index.
        let entry = std::mem::size_of::<(String, Value)>() + std::mem::size_of::<usize>();
        cur.charge(entry + STRING_SLOT + heap_cost(key.len()), 0, &key)?;
        let ty = cur.value_type(&format!("type of metadata key {key}"))?;
        let value = cur.value(ty, &key)?;
        if meta_index.insert(key.clone(), metadata.len()).is_some() {
            return Err(format_err(format!(
                "duplicate metadata key {key} at offset {at}"
            )));
        }
        metadata.push((key, value));
    }

    let alignment = match meta_index.get("general.alignment").map(|&i| &metadata[i].1) {
        None => DEFAULT_ALIGNMENT,
        Some(v) => {
            let a = v.as_i128().ok_or_else(|| {
                format_err(format!(
                    "general.alignment must be an integer, found {}",
                    v.type_name()
                ))
            })?;
            check_alignment(u64::try_from(a).map_err(|_| {
                format_err(format!(
                    "general.alignment {a} is not a nonzero power of two"
                ))
            })?)?
        }
    };

    // Re-check the tensor count against what is left now that the metadata is read.
    if n_tensors > (bytes.len() - cur.pos()) / 24 {
        return Err(format_err(format!(
            "tensor count {n_tensors} is larger than the rest of the file allows"
        )));
    }
    // The infos and their index count against the same budget as the metadata.
    let index_slot = STRING_SLOT + std::mem::size_of::<usize>();
    let info_slot = std::mem::size_of::<TensorInfo>() + index_slot;
    cur.charge(n_tensors.saturating_mul(info_slot), n_tensors * 24, "tensor infos")?;
    let mut tensors = Vec::with_capacity(n_tensors);
    let mut tensor_index = HashMap::with_capacity(n_tensors);
    for i in 0..n_tensors {
        let name = cur.string_in(0, &format!("name of tensor #{i}"))?;
        let t = tensor_info(&mut cur, name)?;
        // the name twice: in the info and as the index's key
        cur.charge(2 * heap_cost(t.name.len()) + heap_cost(t.dims.len() * 8), 0, &t.name)?;
        if tensor_index.insert(t.name.clone(), tensors.len()).is_some() {
            return Err(format_err(format!("duplicate tensor name {}", t.name)));
        }
        tensors.push(t);
    }

    let data_offset = cur
        .pos()
        .checked_next_multiple_of(alignment)
        .ok_or_else(|| format_err("data offset overflows"))?;
    if !tensors.is_empty() && data_offset > bytes.len() {
        return Err(format_err(format!(
            "truncated file: data section starts at {data_offset}, file has {} bytes",
            bytes.len()
        )));
    }
    for t in &mut tensors {
        if t.offset % alignment as u64 != 0 {
            return Err(format_err(format!(
                "tensor {} offset {} is not a multiple of the alignment {alignment}",
                t.name, t.offset
            )));
        }
        let start = usize::try_from(t.offset)
            .ok()
            .and_then(|o| o.checked_add(data_offset));
        let end = start.and_then(|s| s.checked_add(t.n_bytes));
        match (start, end) {
            (Some(s), Some(e)) if e <= bytes.len() => t.file_offset = s,
            _ => {
                return Err(format_err(format!(
                    "tensor {} ({} bytes at data offset {}) lies outside the file ({} bytes, data at {data_offset})",
                    t.name,
                    t.n_bytes,
                    t.offset,
                    bytes.len()
                )))
            }
        }
    }

    Ok(GgufFile {
        bytes,
        version,
        alignment,
        data_offset,
        metadata,
        meta_index,
        tensors,
        tensor_index,
    })
}

fn tensor_info(cur: &mut Cursor<'_>, name: String) -> Result<TensorInfo> {
    let n_dims = cur.u32(&format!("dimension count of tensor {name}"))? as usize;
    if n_dims > MAX_DIMS {
        return Err(format_err(format!(
            "tensor {name} has {n_dims} dimensions (at most {MAX_DIMS})"
        )));
    }
    let mut dims = Vec::with_capacity(n_dims);
    let mut n_elements: usize = 1;
    for _ in 0..n_dims {
        let d = cur.u64(&format!("dimensions of tensor {name}"))?;
        n_elements = usize::try_from(d)
            .ok()
            .filter(|_| d <= i64::MAX as u64)
            .and_then(|d| n_elements.checked_mul(d))
            .ok_or_else(|| format_err(format!("tensor {name}: element count overflows")))?;
        dims.push(d);
    }
    let type_id = cur.u32(&format!("type of tensor {name}"))?;
    let offset = cur.u64(&format!("offset of tensor {name}"))?;
    let ty = GgmlType::from_id(type_id).ok_or_else(|| {
        AttuneError::ModelUnsupported(format!("tensor {name} has unsupported ggml type {type_id}"))
    })?;
    if let Some(&d0) = dims.first() {
        if d0 as usize % ty.block_elems() != 0 {
            return Err(format_err(format!(
                "tensor {name}: row length {d0} is not a multiple of the {} block size {}",
                ty.name(),
                ty.block_elems()
            )));
        }
    }
    let n_bytes = ty
        .bytes_for(n_elements)
        .map_err(|e| format_err(format!("tensor {name}: {e}")))?;
    Ok(TensorInfo {
        name,
        dims,
        ty,
        offset,
        n_elements,
        n_bytes,
        file_offset: 0,
    })
}
