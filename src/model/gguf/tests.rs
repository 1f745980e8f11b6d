use super::*;
use crate::quant::{quantize, GgmlType};
use std::sync::Arc;

fn err_kind(r: Result<GgufFile<'_>>) -> AttuneError {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn is_format(e: &AttuneError) -> bool {
    matches!(e, AttuneError::ModelFormat(_))
}

fn floats(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

fn every_value() -> Vec<(&'static str, Value)> {
    vec![
        ("t.u8", Value::U8(200)),
        ("t.i8", Value::I8(-100)),
        ("t.u16", Value::U16(60000)),
        ("t.i16", Value::I16(-30000)),
        ("t.u32", Value::U32(4_000_000_000)),
        ("t.i32", Value::I32(-2_000_000_000)),
        ("t.u64", Value::U64(u64::MAX - 1)),
        ("t.i64", Value::I64(i64::MIN + 1)),
        ("t.f32", Value::F32(1.5e-12)),
        ("t.f64", Value::F64(-2.25e300)),
        ("t.bool", Value::Bool(true)),
        ("t.false", Value::Bool(false)),
        ("t.str", Value::from("héllo ▁world")),
        ("t.empty_str", Value::from("")),
        ("t.a.u8", vec![1u8, 2, 255].into()),
        ("t.a.i8", vec![-1i8, 0, 127].into()),
        ("t.a.u16", vec![1u16, 65535].into()),
        ("t.a.i16", vec![-32768i16, 5].into()),
        ("t.a.u32", vec![7u32, 8].into()),
        ("t.a.i32", vec![-7i32, 1, 3].into()),
        ("t.a.u64", vec![u64::MAX].into()),
        ("t.a.i64", vec![i64::MIN, 0].into()),
        ("t.a.f32", vec![0.5f32, -1.0].into()),
        ("t.a.f64", vec![0.25f64].into()),
        ("t.a.bool", vec![true, false, true].into()),
        (
            "t.a.str",
            vec!["a".to_string(), String::new(), "ccc".into()].into(),
        ),
        ("t.a.empty", Value::Array(Array::I32(vec![]))),
        (
            "t.a.nested",
            vec![
                Array::U8(vec![1, 2]),
                Array::String(vec!["x".into()]),
                Array::Array(vec![Array::F32(vec![3.0])]),
                Array::Bool(vec![]),
            ]
            .into(),
        ),
    ]
}

/// A small file with one tensor of each type. The last tensor's data is a multiple of 32
/// bytes, so the file has no trailing padding and every truncation cuts something.
type SampleTensor = (String, Vec<u64>, GgmlType, Vec<u8>);

fn sample() -> (Vec<u8>, Vec<SampleTensor>) {
    let mut w = GgufWriter::new();
    w.add("general.architecture", "llama").unwrap();
    for (k, v) in every_value() {
        w.add(k, v).unwrap();
    }
    let mut tensors = Vec::new();
    let specs: [(&str, &[u64], GgmlType); 8] = [
        ("f32.vec", &[5], GgmlType::F32),
        ("f16.mat", &[3, 2], GgmlType::F16),
        ("q4_0.mat", &[64, 3], GgmlType::Q4_0),
        ("q4_1.mat", &[32, 1, 2], GgmlType::Q4_1),
        ("q8_0.mat", &[32, 2, 1, 1], GgmlType::Q8_0),
        ("q8_1.mat", &[32], GgmlType::Q8_1),
        ("scalar", &[], GgmlType::F32),
        ("last", &[8, 2], GgmlType::F32),
    ];
    for (i, (name, dims, ty)) in specs.into_iter().enumerate() {
        let n: u64 = dims.iter().product();
        let data = quantize(ty, &floats(n as usize, i as u32 + 1)).unwrap();
        w.add_tensor(name, dims, ty, data.clone()).unwrap();
        tensors.push((name.to_string(), dims.to_vec(), ty, data));
    }
    (w.to_bytes().unwrap(), tensors)
}

#[test]
fn round_trip_every_value_and_tensor_type() {
    let (bytes, tensors) = sample();
    let f = GgufFile::parse(&bytes).unwrap();
    assert_eq!(f.version(), 3);
    assert_eq!(f.alignment(), 32);
    assert_eq!(f.data_offset() % 32, 0);
    assert_eq!(f.architecture().unwrap(), "llama");
    for (k, v) in every_value() {
        assert_eq!(f.get(k), Some(&v), "{k}");
    }
    assert_eq!(f.metadata().len(), every_value().len() + 1);
    assert_eq!(f.tensors().len(), tensors.len());
    for (t, (name, dims, ty, data)) in f.tensors().iter().zip(&tensors) {
        assert_eq!(&t.name, name);
        assert_eq!(&t.dims, dims);
        assert_eq!(t.ty, *ty);
        assert_eq!(t.offset % 32, 0);
        assert_eq!(f.tensor_data(t), &data[..], "{name}");
        assert_eq!(f.tensor(name), Some(t));
    }
    assert!(f.tensor("nope").is_none());
    let q = f.tensor("q4_0.mat").unwrap();
    assert_eq!((q.rows(), q.cols()), (3, 64));
    let s = f.tensor("scalar").unwrap();
    assert_eq!((s.rows(), s.cols(), s.n_elements), (1, 1, 1));
}

#[test]
fn typed_getters_convert_integers_and_report_errors() {
    let (bytes, _) = sample();
    let f = GgufFile::parse(&bytes).unwrap();
    assert_eq!(f.u32("t.u8").unwrap(), 200);
    assert_eq!(f.u32("t.u16").unwrap(), 60000);
    assert_eq!(f.i32("t.i8").unwrap(), -100);
    assert_eq!(f.u64("t.u32").unwrap(), 4_000_000_000);
    assert_eq!(f.usize("t.u32").unwrap(), 4_000_000_000);
    assert!(matches!(
        f.u32("t.i32"),
        Err(AttuneError::ModelUnsupported(_))
    )); // negative
    assert!(matches!(
        f.u32("t.u64"),
        Err(AttuneError::ModelUnsupported(_))
    )); // too big
    assert_eq!(f.f32("t.f32").unwrap(), 1.5e-12);
    assert_eq!(f.f32("t.f64").unwrap(), -2.25e300f64 as f32);
    assert!(f.bool("t.bool").unwrap());
    assert_eq!(f.str("t.str").unwrap(), "héllo ▁world");
    assert_eq!(f.str_array("t.a.str").unwrap(), &["a", "", "ccc"]);
    assert_eq!(f.i32_array("t.a.u8").unwrap(), vec![1, 2, 255]);
    assert_eq!(f.u32_array("t.a.u32").unwrap(), vec![7, 8]);
    assert!(f.u32_array("t.a.i32").is_err());
    assert_eq!(f.f32_array("t.a.f32").unwrap(), vec![0.5, -1.0]);
    assert_eq!(f.array("t.a.nested").unwrap().len(), 4);
    assert_eq!(f.opt::<u32>("absent").unwrap(), None);
    assert_eq!(f.opt::<u32>("t.u16").unwrap(), Some(60000));
    match f.u32("absent") {
        Err(AttuneError::ModelUnsupported(m)) => assert!(m.contains("missing key absent"), "{m}"),
        other => panic!("{other:?}"),
    }
    match f.str("t.u32") {
        Err(AttuneError::ModelUnsupported(m)) => {
            assert!(
                m.contains("t.u32") && m.contains("expected string") && m.contains("u32"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(f.str_array("t.a.u8").is_err());
    assert!(f.bool("t.u8").is_err());
    assert!(f.f32("t.u8").is_err());
}

#[test]
fn weight_source_views_tensor_in_place() {
    let (bytes, tensors) = sample();
    let shared = Arc::new(bytes);
    let f = GgufFile::parse(&shared).unwrap();
    let w = f.weight("q4_0.mat", &shared).unwrap();
    assert_eq!((w.rows, w.cols, w.dtype), (3, 64, GgmlType::Q4_0));
    assert_eq!(w.data().unwrap(), &tensors[2].3[..]);
    let w = f.weight("q4_1.mat", &shared).unwrap();
    assert_eq!((w.rows, w.cols), (2, 32));
    let w = f.weight("f32.vec", &shared).unwrap();
    assert_eq!((w.rows, w.cols), (1, 5));
    assert!(matches!(
        f.weight("missing", &shared),
        Err(AttuneError::ModelUnsupported(_))
    ));
    let other = Arc::new(shared.to_vec());
    assert!(matches!(
        f.weight("f32.vec", &other),
        Err(AttuneError::InvalidArgument(_))
    ));
}

#[test]
fn custom_alignment_is_honoured() {
    let mut w = GgufWriter::new();
    w.add("general.alignment", 64u32).unwrap();
    w.add_tensor("a", &[3], GgmlType::F32, vec![1; 12]).unwrap();
    w.add_tensor("b", &[5], GgmlType::F32, vec![2; 20]).unwrap();
    let bytes = w.to_bytes().unwrap();
    let f = GgufFile::parse(&bytes).unwrap();
    assert_eq!(f.alignment(), 64);
    assert_eq!(f.data_offset() % 64, 0);
    assert_eq!(f.tensor("b").unwrap().offset, 64);
    assert_eq!(f.tensor_data(f.tensor("b").unwrap()), &[2u8; 20]);
    assert!(GgufWriter::new().add("general.alignment", 48u32).is_err());
    assert!(GgufWriter::new().add("general.alignment", 0u32).is_err());
    assert!(GgufWriter::new().add("general.alignment", "32").is_err());
}

#[test]
fn writer_rejects_bad_input() {
    let mut w = GgufWriter::new();
    w.add("k", 1u32).unwrap();
    assert!(w.add("k", 2u32).is_err());
    assert!(w.add_tensor("t", &[4], GgmlType::F32, vec![0; 15]).is_err());
    assert!(w
        .add_tensor("t", &[16], GgmlType::Q8_0, vec![0; 17])
        .is_err());
    assert!(w
        .add_tensor("t", &[1, 1, 1, 1, 1], GgmlType::F32, vec![0; 4])
        .is_err());
    assert!(w
        .add_tensor("t", &[u64::MAX, 2], GgmlType::F32, vec![])
        .is_err());
    w.add_tensor("t", &[4], GgmlType::F32, vec![0; 16]).unwrap();
    assert!(w.add_tensor("t", &[4], GgmlType::F32, vec![0; 16]).is_err());
    let mut deep = Array::U8(vec![1]);
    for _ in 0..MAX_ARRAY_DEPTH {
        deep = Array::Array(vec![deep]);
    }
    assert!(w.add("deep", deep).is_err());
}

#[test]
fn empty_file_with_no_tensors_parses() {
    let bytes = GgufWriter::new().to_bytes().unwrap();
    let f = GgufFile::parse(&bytes).unwrap();
    assert!(f.tensors().is_empty() && f.metadata().is_empty());
    assert!(f.architecture().is_err());
}

/// Hand-assembled bytes, for files the writer would never produce.
#[derive(Default)]
struct Raw(Vec<u8>);

impl Raw {
    fn header(version: u32, n_tensors: u64, n_kv: u64) -> Raw {
        let mut r = Raw::default();
        r.0.extend_from_slice(b"GGUF");
        r.u32(version).u64(n_tensors).u64(n_kv);
        r
    }
    fn u32(&mut self, x: u32) -> &mut Self {
        self.0.extend_from_slice(&x.to_le_bytes());
        self
    }
    fn u64(&mut self, x: u64) -> &mut Self {
        self.0.extend_from_slice(&x.to_le_bytes());
        self
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64).bytes(s.as_bytes())
    }
    /// A tensor info.
    fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
        self.str(name).u32(dims.len() as u32);
        for &d in dims {
            self.u64(d);
        }
        self.u32(ty).u64(offset)
    }
    fn pad(&mut self, align: usize) -> &mut Self {
        let n = self.0.len().next_multiple_of(align);
        self.0.resize(n, 0);
        self
    }
}

#[test]
fn hand_built_v2_file_parses() {
    let mut r = Raw::header(2, 2, 3);
    r.str("general.architecture").u32(8).str("bert");
    r.str("bert.block_count").u32(4).u32(6);
    r.str("tokenizer.ggml.tokens")
        .u32(9)
        .u32(8)
        .u64(2)
        .str("[CLS]")
        .str("hello");
    r.tensor("w", &[2, 2], 0, 0)
        .tensor("b", &[2], 1, 32)
        .pad(32);
    for x in [1.0f32, 2.0, 3.0, 4.0] {
        r.bytes(&x.to_le_bytes());
    }
    r.pad(32).bytes(&[0x00, 0x3c, 0x00, 0xc0]); // f16 1.0, -2.0
    let f = GgufFile::parse(&r.0).unwrap();
    assert_eq!(f.version(), 2);
    assert_eq!(f.architecture().unwrap(), "bert");
    assert_eq!(f.u32("bert.block_count").unwrap(), 6);
    assert_eq!(
        f.str_array("tokenizer.ggml.tokens").unwrap(),
        &["[CLS]", "hello"]
    );
    let w = f.tensor("w").unwrap();
    assert_eq!(f.tensor_data(w).len(), 16);
    assert_eq!(f.tensor_data(w)[4..8], 2.0f32.to_le_bytes());
    let mut y = [0f32; 2];
    crate::quant::dequantize(GgmlType::F16, f.tensor_data(f.tensor("b").unwrap()), &mut y).unwrap();
    assert_eq!(y, [1.0, -2.0]);
}

#[test]
fn every_truncation_errors() {
    let (bytes, _) = sample();
    assert!(GgufFile::parse(&bytes).is_ok());
    for n in 0..bytes.len() {
        let e = err_kind(GgufFile::parse(&bytes[..n]));
        assert!(is_format(&e), "prefix {n}: {e:?}");
    }
}

#[test]
fn bad_magic_and_versions() {
    let (mut bytes, _) = sample();
    bytes[0] = b'g';
    match GgufFile::parse(&bytes) {
        Err(AttuneError::ModelFormat(m)) => assert!(m.contains("not a GGUF file"), "{m}"),
        other => panic!("{other:?}"),
    }
    let (bytes, _) = sample();
    let with_version = |v: [u8; 4]| {
        let mut b = bytes.clone();
        b[4..8].copy_from_slice(&v);
        GgufFile::parse(&b).map(|_| ()).unwrap_err()
    };
    let v1 = with_version(1u32.to_le_bytes());
    assert!(
        matches!(&v1, AttuneError::ModelUnsupported(m) if m.contains("version 1")),
        "{v1:?}"
    );
    let be = with_version(3u32.to_be_bytes());
    assert!(
        matches!(&be, AttuneError::ModelUnsupported(m) if m.contains("big-endian")),
        "{be:?}"
    );
    let v4 = with_version(4u32.to_le_bytes());
    assert!(
        matches!(&v4, AttuneError::ModelUnsupported(m) if m.contains("version 4")),
        "{v4:?}"
    );
    assert!(is_format(&with_version(0u32.to_le_bytes())));
    assert!(is_format(&with_version(0xdead_beefu32.to_le_bytes())));
}

fn expect_format(r: &Raw, needle: &str) {
    match GgufFile::parse(&r.0) {
        Err(AttuneError::ModelFormat(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
        other => panic!("expected ModelFormat({needle}), got {other:?}"),
    }
}

#[test]
fn huge_counts_are_refused_before_allocating() {
    expect_format(&Raw::header(3, u64::MAX, 0), "tensor count");
    expect_format(&Raw::header(3, 0, u64::MAX), "metadata count");
    expect_format(&Raw::header(3, 1 << 40, 0), "tensor count");
    let mut r = Raw::header(3, 0, 1);
    r.u64(u64::MAX).bytes(&[b'k'; 16]);
    expect_format(&r, "string length");
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(8).u64(u64::MAX - 3).bytes(b"abc");
    expect_format(&r, "string length");
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(9).u32(0).u64(u64::MAX);
    expect_format(&r, "array length of k");
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(9).u32(8).u64(u64::MAX / 8).bytes(&[0; 64]);
    expect_format(&r, "array length of k");
    // 3 strings need at least 24 bytes; 20 are left.
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(9).u32(8).u64(3).bytes(&[0; 20]);
    expect_format(&r, "array length of k");
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(9).u32(9).u64(u64::MAX);
    expect_format(&r, "array length of k");
    // A tensor count that the header alone allows but the metadata then exhausts.
    let mut r = Raw::header(3, 3, 1);
    r.str("k").u32(8).str(&"x".repeat(60));
    expect_format(&r, "tensor count");
}

#[test]
fn bad_type_tags_and_values() {
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(13).u32(0);
    expect_format(&r, "unknown value type 13");
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(9).u32(77).u64(0);
    expect_format(&r, "unknown value type 77");
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(7).bytes(&[2]);
    expect_format(&r, "bool");
    let mut r = Raw::header(3, 0, 2);
    r.str("k").u32(4).u32(1).str("k").u32(4).u32(2);
    expect_format(&r, "duplicate metadata key k");
}

#[test]
fn nesting_depth_is_bounded() {
    let nest = |depth: usize| {
        let mut r = Raw::header(3, 0, 1);
        r.str("k").u32(9);
        for _ in 1..depth {
            r.u32(9).u64(1);
        }
        r.u32(0).u64(1).bytes(&[7]);
        r
    };
    let ok = nest(MAX_ARRAY_DEPTH);
    assert_eq!(
        GgufFile::parse(&ok.0).unwrap().array("k").unwrap().depth(),
        MAX_ARRAY_DEPTH
    );
    expect_format(&nest(MAX_ARRAY_DEPTH + 1), "nested deeper");
    // A very deep claim must not overflow the stack either.
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(9);
    for _ in 0..100_000 {
        r.u32(9).u64(1);
    }
    expect_format(&r, "nested deeper");
}

#[test]
fn bad_alignment_values() {
    for (ty, v) in [(4u32, 0u32), (4, 48), (5, 0xffff_ffe0)] {
        let mut r = Raw::header(3, 0, 1);
        r.str("general.alignment").u32(ty).u32(v);
        expect_format(&r, "alignment");
    }
    let mut r = Raw::header(3, 0, 1);
    r.str("general.alignment").u32(8).str("32");
    expect_format(&r, "alignment");
    // u64 alignment that fits is accepted (writers differ).
    let mut r = Raw::header(3, 0, 1);
    r.str("general.alignment").u32(10).u64(16);
    assert_eq!(GgufFile::parse(&r.0).unwrap().alignment(), 16);
}

fn one_tensor(dims: &[u64], ty: u32, offset: u64, data_len: usize) -> Raw {
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", dims, ty, offset).pad(32);
    r.bytes(&vec![0; data_len]);
    r
}

#[test]
fn bad_tensor_infos() {
    assert!(GgufFile::parse(&one_tensor(&[4], 0, 0, 16).0).is_ok());
    expect_format(&one_tensor(&[4], 0, 0, 15), "outside the file");
    expect_format(&one_tensor(&[4], 0, 32, 40), "outside the file");
    expect_format(&one_tensor(&[4], 0, u64::MAX - 31, 16), "outside the file");
    expect_format(
        &one_tensor(&[4], 0, 8, 64),
        "not a multiple of the alignment",
    );
    expect_format(
        &one_tensor(&[1 << 33, 1 << 33, 1 << 33], 0, 0, 16),
        "overflows",
    );
    expect_format(&one_tensor(&[u64::MAX], 0, 0, 16), "overflows");
    expect_format(&one_tensor(&[1, 1, 1, 1, 1], 0, 0, 16), "dimensions");
    expect_format(&one_tensor(&[33], 8, 0, 64), "block size");
    expect_format(&one_tensor(&[1u64 << 62, 8], 0, 0, 16), "overflows");
    match GgufFile::parse(&one_tensor(&[32], 12, 0, 144).0) {
        Err(AttuneError::ModelUnsupported(m)) => {
            assert!(m.contains("tensor w") && m.contains("type 12"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let mut r = Raw::header(3, 2, 0);
    r.tensor("w", &[4], 0, 0)
        .tensor("w", &[4], 0, 32)
        .pad(32)
        .bytes(&[0; 64]);
    expect_format(&r, "duplicate tensor name w");
}

#[test]
fn random_byte_flips_never_panic() {
    let (bytes, _) = sample();
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let header_len = GgufFile::parse(&bytes).unwrap().data_offset();
    let mut errors = 0;
    for i in 0..4000 {
        let mut b = bytes.clone();
        let flips = 1 + (next() % 4) as usize;
        for _ in 0..flips {
            // Mostly hit the header, where the structure is.
            let at = if i % 4 == 0 {
                next() as usize % b.len()
            } else {
                next() as usize % header_len
            };
            let v = match next() % 4 {
                0 => 0xff,
                1 => 0,
                _ => next() as u8,
            };
            b[at] = v;
        }
        if i % 10 == 0 {
            let cut = next() as usize % b.len();
            b.truncate(cut);
        }
        let r = std::panic::catch_unwind(|| GgufFile::parse(&b).map(|f| f.tensors().len()));
        match r {
            Ok(Err(_)) => errors += 1,
            Ok(Ok(_)) => {}
            Err(_) => panic!("mutation {i} panicked"),
        }
    }
    assert!(errors > 1000, "only {errors} mutations were rejected");
}

/// The real SmolLM2 file, when it has been fetched (`ATTUNE_MODELS_DIR`, default `models/out`).
#[test]
fn real_smollm2_file() {
    let dir = std::env::var("ATTUNE_MODELS_DIR").unwrap_or_else(|_| "models/out".into());
    let path = std::path::Path::new(&dir).join("smollm2-135m-instruct.q4_1.gguf");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipping: {} not found", path.display());
        return;
    };
    let f = GgufFile::parse(&bytes).unwrap();
    assert_eq!(f.architecture().unwrap(), "llama");
    assert_eq!(f.str("tokenizer.ggml.model").unwrap(), "gpt2");
    assert_eq!(f.str_array("tokenizer.ggml.tokens").unwrap().len(), 49152);
    assert_eq!(
        f.i32_array("tokenizer.ggml.token_type").unwrap().len(),
        49152
    );
    assert_eq!(f.u32("llama.block_count").unwrap(), 30);
    assert_eq!(f.u32("llama.embedding_length").unwrap(), 576);
    assert_eq!(f.u32("llama.attention.head_count_kv").unwrap(), 3);
    assert_eq!(f.f32("llama.rope.freq_base").unwrap(), 100000.0);
    assert!(f
        .str("tokenizer.chat_template")
        .unwrap()
        .contains("<|im_start|>"));
    assert_eq!(f.tensors().len(), 272);
    let count = |ty| f.tensors().iter().filter(|t| t.ty == ty).count();
    assert_eq!(
        (
            count(GgmlType::Q4_1),
            count(GgmlType::F32),
            count(GgmlType::Q8_0)
        ),
        (210, 61, 1)
    );
    let emb = f.tensor("token_embd.weight").unwrap();
    assert_eq!(
        (emb.ty, emb.cols(), emb.rows()),
        (GgmlType::Q8_0, 576, 49152)
    );
    let mut y = vec![0f32; 576];
    let row = &f.tensor_data(emb)[..GgmlType::Q8_0.bytes_for(576).unwrap()];
    crate::quant::dequantize(GgmlType::Q8_0, row, &mut y).unwrap();
    assert!(y.iter().all(|v| v.is_finite()) && y.iter().any(|&v| v != 0.0));
}

// Fuzzing found: a file of many short keys decoded to some 26 times its size in memory.
#[test]
fn a_flood_of_tiny_keys_is_refused_from_the_count() {
    let n = 300_000; // one-letter keys with u8 values: about 4 MB
    let mut r = Raw::header(3, 0, n as u64);
    for i in 0..n {
        r.str(&char::from(b'a' + (i % 26) as u8).to_string()).u32(0).bytes(&[0]);
    }
    expect_format(&r, "metadata count");
}

/// A file with one string array `k` of `n` strings made by `text`.
fn string_array_file(n: usize, text: impl Fn(usize) -> String) -> Raw {
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(9).u32(8).u64(n as u64);
    for i in 0..n {
        r.str(&text(i));
    }
    r
}

// One-byte strings decode to several times their size on disk: past the floor, refused.
#[test]
fn an_array_of_tiny_strings_is_refused_past_the_budget() {
    let r = string_array_file(600_000, |i| char::from(b'a' + (i % 26) as u8).to_string());
    expect_format(&r, "in memory");
}

// A large vocabulary of ordinary tokens stays within the budget.
#[test]
fn a_large_vocabulary_parses() {
    let r = string_array_file(260_000, |i| format!("tok{i}"));
    let f = GgufFile::parse(&r.0).unwrap();
    assert_eq!(f.str_array("k").unwrap().len(), 260_000);
}
