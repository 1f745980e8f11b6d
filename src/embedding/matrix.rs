//! The vectors of one call's items as one contiguous Q8_0 matrix, so scoring a page against
//! the profile is one quantized matmul (`[profile rows] · [items]ᵀ`) on the CPU backend's
//! fastest kernels (wasm simd128, AVX2) instead of a loop of f32 dot products. The scoring of a
//! feed is too small to pay a GPU round trip, so it stays on the CPU whatever the embedder uses.

use super::compact::{blocks, row_bytes};
use super::CompactVector;
use crate::compute::cpu::{matmul::matmul, simd};
use crate::error::{AttuneError, Result};
use crate::quant::{GgmlType, QK};

#[derive(Debug, Clone, Default)]
pub struct ItemMatrix {
    dim: usize,
    /// Row of each item, `None` for an item without a vector.
    rows: Vec<Option<usize>>,
    q: Vec<u8>,
    n: usize,
}

impl ItemMatrix {
    /// One entry per item; every vector must have the same width.
    pub fn new<'a>(vectors: impl IntoIterator<Item = Option<&'a CompactVector>>) -> Result<Self> {
        let mut m = ItemMatrix::default();
        for v in vectors {
            m.push(v)?;
        }
        Ok(m)
    }

    /// Appends the next item (its vector, if any).
    pub fn push(&mut self, v: Option<&CompactVector>) -> Result<()> {
        let Some(v) = v else {
            self.rows.push(None);
            return Ok(());
        };
        if self.n == 0 {
            self.dim = v.dim();
        } else if v.dim() != self.dim {
            return Err(AttuneError::InvalidArgument(format!("item vectors of {} and {} values in one call", self.dim, v.dim())));
        }
        self.q.extend_from_slice(v.q8_0());
        self.rows.push(Some(self.n));
        self.n += 1;
        Ok(())
    }

    /// From f32 vectors (tests, the CLI): each encoded as it would be cached. A zero or
    /// non-finite vector counts as none.
    pub fn from_f32(vectors: &[Option<Vec<f32>>]) -> Result<Self> {
        let compact: Vec<Option<CompactVector>> =
            vectors.iter().map(|v| v.as_deref().and_then(|v| CompactVector::encode(v).ok())).collect();
        ItemMatrix::new(compact.iter().map(Option::as_ref))
    }

    /// Items (with or without a vector).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Width of the vectors (0 when no item has one).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The row of item `i`, if it has a vector.
    pub fn row(&self, i: usize) -> Option<usize> {
        self.rows.get(i).copied().flatten()
    }

    /// Rows (items with a vector).
    pub fn rows(&self) -> usize {
        self.n
    }

    /// Item `i`'s vector as f32 (unit length up to quantization).
    pub fn vector(&self, i: usize) -> Option<Vec<f32>> {
        let r = self.row(i)?;
        let mut out = vec![0f32; blocks(self.dim) * QK];
        crate::quant::dequantize(GgmlType::Q8_0, &self.q[r * row_bytes(self.dim)..][..row_bytes(self.dim)], &mut out).ok()?;
        out.truncate(self.dim);
        Some(out)
    }

    /// Dot products of each query (unit vectors of width [`dim`](Self::dim)) with every row:
    /// `out[q * rows() + r]`. Empty when there are no queries or rows.
    pub fn dots(&self, queries: &[&[f32]]) -> Result<Vec<f32>> {
        if queries.is_empty() || self.n == 0 {
            return Ok(Vec::new());
        }
        let k = blocks(self.dim) * QK;
        let mut x = vec![0f32; queries.len() * k];
        for (q, row) in queries.iter().zip(x.chunks_exact_mut(k)) {
            if q.len() != self.dim {
                return Err(AttuneError::InvalidArgument(format!("a query of {} values against items of {}", q.len(), self.dim)));
            }
            row[..self.dim].copy_from_slice(q);
        }
        matmul(simd::best(), &x, queries.len(), k, GgmlType::Q8_0, &self.q, self.n, None)
    }
}
