//! Building a GGUF v3 file.

use super::value::{check_alignment, Array, Value};
use super::{DEFAULT_ALIGNMENT, MAGIC, MAX_ARRAY_DEPTH, MAX_DIMS};
use crate::error::{AttuneError, Result};
use crate::quant::GgmlType;
use std::collections::HashSet;
use std::io::Write;

struct PendingTensor {
    name: String,
    dims: Vec<u64>,
    ty: GgmlType,
    data: Vec<u8>,
}

/// Collects metadata and tensors, then writes a GGUF v3 file. Tensors are laid out in the
/// order added, each at a multiple of the alignment (32 unless `general.alignment` is set),
/// and every tensor's data is padded to the alignment, as llama.cpp expects.
pub struct GgufWriter {
    metadata: Vec<(String, Value)>,
    keys: HashSet<String>,
    tensors: Vec<PendingTensor>,
    names: HashSet<String>,
    alignment: usize,
}

impl Default for GgufWriter {
    fn default() -> Self {
        Self::new()
    }
}

fn invalid(msg: String) -> AttuneError {
    AttuneError::InvalidArgument(msg)
}

impl GgufWriter {
    pub fn new() -> Self {
        GgufWriter {
            metadata: Vec::new(),
            keys: HashSet::new(),
            tensors: Vec::new(),
            names: HashSet::new(),
            alignment: DEFAULT_ALIGNMENT,
        }
    }

    pub fn alignment(&self) -> usize {
        self.alignment
    }

    /// Adds a metadata entry. Keys must be unique. Setting `general.alignment` (an integer,
    /// a nonzero power of two) also changes the layout; it is stored as u32.
    pub fn add(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Result<&mut Self> {
        let key = key.into();
        let mut value = value.into();
        if self.keys.contains(&key) {
            return Err(invalid(format!("duplicate metadata key {key}")));
        }
        if let Value::Array(a) = &value {
            if a.depth() > MAX_ARRAY_DEPTH {
                return Err(invalid(format!(
                    "{key}: arrays nested deeper than {MAX_ARRAY_DEPTH}"
                )));
            }
        }
        if key == "general.alignment" {
            let a = value
                .as_i128()
                .and_then(|a| u64::try_from(a).ok())
                .ok_or_else(|| {
                    invalid("general.alignment must be a non-negative integer".into())
                })?;
            self.alignment = check_alignment(a).map_err(|e| invalid(e.to_string()))?;
            value = Value::U32(a as u32);
        }
        self.keys.insert(key.clone());
        self.metadata.push((key, value));
        Ok(self)
    }

    /// Adds a tensor: dims ne0 first, `data` exactly the bytes `ty` needs for them.
    pub fn add_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ty: GgmlType,
        data: Vec<u8>,
    ) -> Result<&mut Self> {
        let name = name.into();
        if self.names.contains(&name) {
            return Err(invalid(format!("duplicate tensor name {name}")));
        }
        if dims.len() > MAX_DIMS {
            return Err(invalid(format!(
                "tensor {name}: {} dims (at most {MAX_DIMS})",
                dims.len()
            )));
        }
        let n = dims
            .iter()
            .try_fold(1usize, |a, &d| {
                usize::try_from(d).ok().and_then(|d| a.checked_mul(d))
            })
            .ok_or_else(|| invalid(format!("tensor {name}: element count overflows")))?;
        if dims
            .first()
            .is_some_and(|&d0| d0 as usize % ty.block_elems() != 0)
        {
            return Err(invalid(format!(
                "tensor {name}: row length {} is not a multiple of the {} block size",
                dims[0],
                ty.name()
            )));
        }
        let need = ty
            .bytes_for(n)
            .map_err(|e| invalid(format!("tensor {name}: {e}")))?;
        if data.len() != need {
            return Err(invalid(format!(
                "tensor {name}: {} bytes of data, {} {dims:?} needs {need}",
                data.len(),
                ty.name()
            )));
        }
        self.names.insert(name.clone());
        self.tensors.push(PendingTensor {
            name,
            dims: dims.to_vec(),
            ty,
            data,
        });
        Ok(self)
    }

    /// Number of tensors added so far.
    pub fn tensor_count(&self) -> usize {
        self.tensors.len()
    }

    /// The whole file in memory.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.size_hint());
        self.write_to(&mut out)?;
        Ok(out)
    }

    fn size_hint(&self) -> usize {
        self.tensors
            .iter()
            .map(|t| t.data.len() + self.alignment)
            .sum::<usize>()
            + 4096
    }

    /// Streams the file to `w`.
    pub fn write_to<W: Write>(&self, w: &mut W) -> Result<()> {
        let mut head = Vec::new();
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&3u32.to_le_bytes());
        head.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        head.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (k, v) in &self.metadata {
            put_str(&mut head, k);
            head.extend_from_slice(&v.value_type().id().to_le_bytes());
            put_value(&mut head, v);
        }
        let mut offset = 0usize;
        for t in &self.tensors {
            put_str(&mut head, &t.name);
            head.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                head.extend_from_slice(&d.to_le_bytes());
            }
            head.extend_from_slice(&t.ty.id().to_le_bytes());
            head.extend_from_slice(&(offset as u64).to_le_bytes());
            offset += t.data.len().next_multiple_of(self.alignment);
        }
        let pad = head.len().next_multiple_of(self.alignment) - head.len();
        head.resize(head.len() + pad, 0);
        w.write_all(&head)?;
        let zeros = vec![0u8; self.alignment];
        for t in &self.tensors {
            w.write_all(&t.data)?;
            let pad = t.data.len().next_multiple_of(self.alignment) - t.data.len();
            w.write_all(&zeros[..pad])?;
        }
        Ok(())
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I8(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(*x as u8),
        Value::String(s) => put_str(out, s),
        Value::Array(a) => put_array(out, a),
    }
}

fn put_array(out: &mut Vec<u8>, a: &Array) {
    out.extend_from_slice(&a.elem_type().id().to_le_bytes());
    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
    fn all<T: Copy, const N: usize>(out: &mut Vec<u8>, v: &[T], f: fn(T) -> [u8; N]) {
        v.iter().for_each(|&x| out.extend_from_slice(&f(x)));
    }
    match a {
        Array::U8(v) => out.extend_from_slice(v),
        Array::I8(v) => all(out, v, i8::to_le_bytes),
        Array::U16(v) => all(out, v, u16::to_le_bytes),
        Array::I16(v) => all(out, v, i16::to_le_bytes),
        Array::U32(v) => all(out, v, u32::to_le_bytes),
        Array::I32(v) => all(out, v, i32::to_le_bytes),
        Array::U64(v) => all(out, v, u64::to_le_bytes),
        Array::I64(v) => all(out, v, i64::to_le_bytes),
        Array::F32(v) => all(out, v, f32::to_le_bytes),
        Array::F64(v) => all(out, v, f64::to_le_bytes),
        Array::Bool(v) => v.iter().for_each(|&b| out.push(b as u8)),
        Array::String(v) => v.iter().for_each(|s| put_str(out, s)),
        Array::Array(v) => v.iter().for_each(|x| put_array(out, x)),
    }
}
