//! One embedding at unit length as Q8_0 blocks (32 signed bytes and an f16 scale per block),
//! zero-padded to whole blocks. Measured parity with the f32 vectors is in docs/catalog-scale.md;
//! scoring reads these bytes directly (see [`super::ItemMatrix`]).

use crate::error::{AttuneError, Result};
use crate::profile::limits;
use crate::profile::vector::unit;
use crate::quant::BlockQ8_0;
use crate::quant::{as_blocks, QK};

/// Leading byte of the serialized form; a later encoding gets another.
const TAG_Q8_0: u8 = 1;
const HEADER: usize = 3;

#[derive(Clone, PartialEq)]
pub struct CompactVector {
    dim: usize,
    /// `blocks(dim)` Q8_0 blocks.
    q: Vec<u8>,
}

impl std::fmt::Debug for CompactVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CompactVector(dim {})", self.dim)
    }
}

/// Q8_0 blocks that hold `dim` values.
pub fn blocks(dim: usize) -> usize {
    dim.div_ceil(QK)
}

/// Bytes of the Q8_0 row of `dim` values.
pub fn row_bytes(dim: usize) -> usize {
    blocks(dim) * std::mem::size_of::<BlockQ8_0>()
}

/// Bytes of the serialized form of a vector of `dim` values.
pub fn stored_bytes(dim: usize) -> usize {
    HEADER + row_bytes(dim)
}

impl CompactVector {
    /// `v` scaled to unit length and quantized; refuses an empty, zero, non-finite or too wide
    /// vector.
    pub fn encode(v: &[f32]) -> Result<Self> {
        if v.is_empty() || v.len() > limits::DIM {
            return Err(AttuneError::InvalidArgument(format!("a vector of {} values (1..={})", v.len(), limits::DIM)));
        }
        let u = unit(v).ok_or_else(|| AttuneError::InvalidArgument("a zero or non-finite vector".into()))?;
        let mut q = Vec::with_capacity(row_bytes(v.len()));
        for chunk in u.chunks(QK) {
            let mut block = [0f32; QK];
            block[..chunk.len()].copy_from_slice(chunk);
            q.extend_from_slice(bytemuck::bytes_of(&BlockQ8_0::quantize(&block)));
        }
        Ok(CompactVector { dim: v.len(), q })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The Q8_0 row (padded to whole blocks).
    pub fn q8_0(&self) -> &[u8] {
        &self.q
    }

    /// The values back as f32 (unit length up to the quantization error).
    pub fn decode(&self) -> Vec<f32> {
        let mut out = vec![0f32; blocks(self.dim) * QK];
        for (b, o) in as_blocks::<BlockQ8_0>(&self.q).iter().zip(out.chunks_exact_mut(QK)) {
            if let Ok(o) = <&mut [f32; QK]>::try_from(o) {
                b.dequantize(o);
            }
        }
        out.truncate(self.dim);
        out
    }

    /// Bytes of [`to_bytes`](Self::to_bytes): what an entry costs in a store.
    pub fn stored_bytes(&self) -> usize {
        stored_bytes(self.dim)
    }

    /// `[1][dim: u16 LE][Q8_0 blocks]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.stored_bytes());
        out.push(TAG_Q8_0);
        out.extend_from_slice(&(self.dim as u16).to_le_bytes());
        out.extend_from_slice(&self.q);
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let bad = |m: &str| Err(AttuneError::CorruptRecord(format!("cached embedding: {m}")));
        if b.len() < HEADER {
            return bad("shorter than its header");
        }
        if b[0] != TAG_Q8_0 {
            return bad(&format!("unknown encoding {}", b[0]));
        }
        let dim = u16::from_le_bytes([b[1], b[2]]) as usize;
        if dim == 0 || dim > limits::DIM || b.len() != HEADER + row_bytes(dim) {
            return bad(&format!("{} bytes for {dim} values", b.len()));
        }
        let q = b[HEADER..].to_vec();
        // A non-finite scale would poison every score it touches.
        if as_blocks::<BlockQ8_0>(&q).iter().any(|blk| !crate::quant::f16_le(blk.d).is_finite()) {
            return bad("a non-finite scale");
        }
        Ok(CompactVector { dim, q })
    }
}
