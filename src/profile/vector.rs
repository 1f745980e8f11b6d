//! Small vector helpers for embeddings, and their stored form: little-endian f32 as base64
//! (about a third the size of JSON numbers, and exact).

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serializer};

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// Cosine similarity; 0 when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let n = norm(a) * norm(b);
    if n > 0.0 && n.is_finite() {
        (dot(a, b) / n).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// A unit-length copy, or `None` for a zero or non-finite vector.
pub fn unit(a: &[f32]) -> Option<Vec<f32>> {
    let n = norm(a);
    if n > 0.0 && n.is_finite() && a.iter().all(|x| x.is_finite()) {
        Some(a.iter().map(|x| x / n).collect())
    } else {
        None
    }
}

pub fn encode(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn decode(s: &str) -> Result<Vec<f32>, String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| e.to_string())?;
    if bytes.len() % 4 != 0 {
        return Err(format!("{} bytes is not a whole number of f32", bytes.len()));
    }
    let v: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    if v.iter().any(|x| !x.is_finite()) {
        return Err("vector holds a non-finite number".into());
    }
    Ok(v)
}

/// `#[serde(with = "b64")]` for `Vec<f32>`.
pub mod b64 {
    use super::*;
    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let s = String::deserialize(d)?;
        decode(&s).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = "b64_opt")]` for `Option<Vec<f32>>`.
pub mod b64_opt {
    use super::*;
    pub fn serialize<S: Serializer>(v: &Option<Vec<f32>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&encode(v)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f32>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => decode(&s).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

/// A vector kept at 8 bits per component (`x ≈ q · scale`), for the per-item ledger: enough to
/// take an item's contribution back out of a centroid, at a quarter of the f32 size.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Q8 {
    pub scale: f32,
    /// The i8 components as base64.
    pub q: String,
}

impl Q8 {
    pub fn quantize(v: &[f32]) -> Q8 {
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let q: Vec<u8> = v.iter().map(|x| ((x / scale).round().clamp(-127.0, 127.0) as i8) as u8).collect();
        Q8 { scale, q: base64::engine::general_purpose::STANDARD.encode(q) }
    }

    pub fn dequantize(&self) -> Result<Vec<f32>, String> {
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err("bad q8 scale".into());
        }
        let q = base64::engine::general_purpose::STANDARD.decode(&self.q).map_err(|e| e.to_string())?;
        Ok(q.iter().map(|&b| (b as i8) as f32 * self.scale).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn base64_round_trip_is_exact() {
        let v = vec![0.1f32, -3.5, 1e-30, 0.0];
        assert_eq!(decode(&encode(&v)).unwrap(), v);
        assert!(decode("AAA").is_err());
        assert!(decode(&encode(&[f32::NAN])).is_err());
        let q = Q8::quantize(&v).dequantize().unwrap();
        assert!((q[1] + 3.5).abs() < 1e-6 && (q[0] - 0.1).abs() < 0.02);
    }
}
