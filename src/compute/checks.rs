//! Shape checks shared by every backend, so the CPU reference and the GPU refuse exactly the
//! same inputs with the same `invalid_argument` message (before any work is recorded).

use super::{KvCache, Tensor, Weight};
use crate::error::{AttuneError, Result};
use crate::quant::GgmlType;

fn invalid<T>(msg: String) -> Result<T> {
    Err(AttuneError::InvalidArgument(msg))
}

/// `data` fills a `rows x cols` tensor exactly.
pub fn input(len: usize, rows: usize, cols: usize) -> Result<()> {
    if rows.checked_mul(cols) != Some(len) {
        return invalid(format!("input: {len} values for {rows} x {cols}"));
    }
    Ok(())
}

/// Rows of a `rows x cols` table `name` of type `ty` are whole quant blocks, every id a row.
pub fn gather(name: &str, rows: usize, cols: usize, ty: GgmlType, ids: &[u32]) -> Result<()> {
    if cols % ty.block_elems() != 0 {
        return invalid(format!("gather: rows of {cols} {} values are not whole blocks", ty.name()));
    }
    if let Some(&id) = ids.iter().find(|&&id| id as usize >= rows) {
        return invalid(format!("gather: id {id} out of range for {name} with {rows} rows"));
    }
    Ok(())
}

/// `x · wᵀ`: x has as many columns as w.
pub fn matmul(x: Tensor, w: Weight) -> Result<()> {
    if x.cols != w.cols {
        return invalid(format!("matmul: x is {} x {} but w is {} x {}", x.rows, x.cols, w.rows, w.cols));
    }
    Ok(())
}

/// An elementwise op (`add`, `swiglu`) of two tensors of one shape.
pub fn same_shape(op: &str, a: Tensor, b: Tensor) -> Result<()> {
    if (a.rows, a.cols) != (b.rows, b.cols) {
        return invalid(format!("{op}: {} x {} and {} x {} differ in shape", a.rows, a.cols, b.rows, b.cols));
    }
    Ok(())
}

/// Rows `start..start + rows` exist in `x`.
pub fn slice_rows(x: Tensor, start: usize, rows: usize) -> Result<()> {
    if start.checked_add(rows).is_none_or(|end| end > x.rows) {
        return invalid(format!("slice_rows: rows {start}..{start}+{rows} of {}", x.rows));
    }
    Ok(())
}

/// `x` goes into `cache` (now holding `held` rows) at `at_row`: same width, no gap, in capacity.
pub fn cache_write(cache: KvCache, x: Tensor, at_row: usize, held: usize) -> Result<()> {
    if x.cols != cache.cols {
        return invalid(format!("cache_write: x has {} cols, the cache {}", x.cols, cache.cols));
    }
    if at_row > held || at_row + x.rows > cache.capacity {
        return invalid(format!(
            "cache_write: {} rows at row {at_row} into a cache holding {held} of {} rows",
            x.rows, cache.capacity
        ));
    }
    Ok(())
}
