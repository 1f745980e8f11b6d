use super::compact::row_bytes;
use super::table::entry_bytes;
use super::*;
use crate::profile::vector::{cosine, dot, unit};

/// Deterministic pseudo-random vectors with the spread of real embeddings.
fn vector(seed: u64, dim: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..dim)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

#[test]
fn keys_differ_by_model_and_text_and_round_trip_as_hex() {
    let a = CacheKey::new("m1", "text");
    assert_ne!(a, CacheKey::new("m2", "text"));
    assert_ne!(a, CacheKey::new("m1", "text "));
    // The separator keeps "m" + "1text" apart from "m1" + "text".
    assert_ne!(CacheKey::new("m", "1text"), a);
    assert_eq!(CacheKey::from_hex(&a.hex()), Some(a));
    assert_eq!(a.hex().len(), 64);
    for bad in ["", "zz", &"g".repeat(64), &a.hex()[1..]] {
        assert_eq!(CacheKey::from_hex(bad), None, "{bad}");
    }
}

#[test]
fn compact_vectors_keep_direction() {
    let mut worst = 1f32;
    for seed in 0..200 {
        let v = vector(seed, 384);
        let c = CompactVector::encode(&v).unwrap();
        assert_eq!(c.q8_0().len(), row_bytes(384));
        worst = worst.min(cosine(&c.decode(), &v));
    }
    assert!(worst > 0.9999, "worst cosine {worst}");
    // Widths that are not whole blocks are padded, and come back at their width.
    let v = vector(7, 50);
    let c = CompactVector::encode(&v).unwrap();
    assert_eq!(c.decode().len(), 50);
    assert!(cosine(&c.decode(), &v) > 0.999);
}

#[test]
fn compact_vectors_refuse_what_cannot_be_scored() {
    for bad in [vec![], vec![0.0; 8], vec![f32::NAN; 8], vec![1.0; crate::profile::limits::DIM + 1]] {
        assert_eq!(CompactVector::encode(&bad).unwrap_err().code(), "invalid_argument");
    }
}

#[test]
fn compact_bytes_round_trip_and_corruption_is_refused() {
    let c = CompactVector::encode(&vector(1, 384)).unwrap();
    let b = c.to_bytes();
    assert_eq!(b.len(), c.stored_bytes());
    assert_eq!(CompactVector::from_bytes(&b).unwrap(), c);
    let mut wrong_tag = b.clone();
    wrong_tag[0] = 9;
    let mut nan_scale = b.clone();
    nan_scale[3..5].copy_from_slice(&0x7e00u16.to_le_bytes());
    let mut zero_dim = b.clone();
    zero_dim[1..3].copy_from_slice(&[0, 0]);
    for bad in [&[][..], &b[..2], &b[..b.len() - 1], &wrong_tag, &nan_scale, &zero_dim] {
        assert_eq!(CompactVector::from_bytes(bad).unwrap_err().code(), "corrupt_record");
    }
}

#[test]
fn table_evicts_least_recently_used_by_bytes() {
    let v = CompactVector::encode(&vector(1, 384)).unwrap();
    let per = entry_bytes(&v);
    let mut t = EmbeddingTable::new(per * 100);
    for i in 0..100 {
        t.put(CacheKey::new("m", &i.to_string()), v.clone());
    }
    assert_eq!(t.len(), 100);
    assert_eq!(t.stats().bytes, per * 100);
    // Touch the first ten: they survive the eviction the next insert causes.
    for i in 0..10 {
        assert!(t.get(&CacheKey::new("m", &i.to_string())).is_some());
    }
    t.put(CacheKey::new("m", "new"), v.clone());
    assert!(t.stats().bytes <= per * 90, "{:?}", t.stats());
    for i in 0..10 {
        assert!(t.contains(&CacheKey::new("m", &i.to_string())), "recently used {i} was evicted");
    }
    assert!(t.contains(&CacheKey::new("m", "new")));
    assert!(!t.contains(&CacheKey::new("m", "10")), "the oldest stays");
    // Replacing an entry does not count it twice.
    let n = t.stats();
    t.put(CacheKey::new("m", "new"), v.clone());
    assert_eq!(t.stats(), n);
    // Thousands of inserts keep it bounded.
    for i in 0..5000 {
        t.put(CacheKey::new("m", &format!("x{i}")), v.clone());
    }
    assert!(t.stats().bytes <= per * 100 && t.len() > 80);
}

#[test]
fn matrix_dots_match_f32_dots() {
    let items: Vec<Option<Vec<f32>>> =
        (0..300).map(|i| if i % 7 == 3 { None } else { Some(vector(i, 384)) }).collect();
    let m = ItemMatrix::from_f32(&items).unwrap();
    assert_eq!(m.len(), 300);
    assert_eq!(m.rows(), items.iter().filter(|v| v.is_some()).count());
    let queries: Vec<Vec<f32>> = (0..5).map(|q| unit(&vector(1000 + q, 384)).unwrap()).collect();
    let refs: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
    let dots = m.dots(&refs).unwrap();
    assert_eq!(dots.len(), 5 * m.rows());
    for (i, it) in items.iter().enumerate() {
        let Some(v) = it else {
            assert_eq!(m.row(i), None);
            continue;
        };
        let u = unit(v).unwrap();
        let r = m.row(i).unwrap();
        for (q, query) in queries.iter().enumerate() {
            let want = dot(query, &u);
            assert!((dots[q * m.rows() + r] - want).abs() < 5e-3, "item {i} query {q}: {} vs {want}", dots[q * m.rows() + r]);
        }
        assert!(cosine(&m.vector(i).unwrap(), v) > 0.9999);
    }
    assert!(m.dots(&[&[0.5; 10]]).is_err());
}

#[test]
fn matrix_refuses_mixed_widths() {
    let items = vec![Some(vector(1, 384)), Some(vector(2, 768))];
    assert_eq!(ItemMatrix::from_f32(&items).unwrap_err().code(), "invalid_argument");
}

#[test]
fn catalogs_round_trip_and_check_the_model() {
    let vs: Vec<(String, Vec<f32>)> = (0..50).map(|i| (format!("item-{i}"), vector(i, 384))).collect();
    let file = Catalog::write("minilm", 384, vs.iter().map(|(id, v)| (id.as_str(), v.as_slice()))).unwrap();
    let c = Catalog::read(&file, "minilm").unwrap();
    assert_eq!((c.len(), c.dim(), c.model()), (50, 384, "minilm"));
    assert!(cosine(&c.get("item-7").unwrap().decode(), &vs[7].1) > 0.9999);
    assert!(c.get("item-50").is_none());
    assert_eq!(Catalog::read(&file, "other-model").unwrap_err().code(), "model_unsupported");
    for cut in [0, 5, 12, file.len() / 2, file.len() - 1] {
        assert_eq!(Catalog::read(&file[..cut], "minilm").unwrap_err().code(), "invalid_argument", "cut at {cut}");
    }
    let mut extra = file.clone();
    extra.push(0);
    assert!(Catalog::read(&extra, "minilm").is_err());
}

#[test]
fn catalog_with_a_huge_count_fails_before_allocating() {
    let header = br#"{"model":"m","dim":384,"count":1000000,"encoding":"q8_0"}"#;
    let mut file = b"ATTUNEV1".to_vec();
    file.extend_from_slice(&(header.len() as u32).to_le_bytes());
    file.extend_from_slice(header);
    let err = Catalog::read(&file, "m").unwrap_err();
    assert!(err.to_string().contains("do not fit"), "{err}");
}

#[test]
fn the_key_memo_gives_the_hash_and_stays_bounded() {
    let mut m = KeyMemo::new("minilm");
    assert_eq!(m.key("a text"), CacheKey::new("minilm", "a text"));
    assert_eq!(m.key("a text"), CacheKey::new("minilm", "a text"));
    for i in 0..KeyMemo::MAX_TEXTS + 10 {
        assert_eq!(m.key(&i.to_string()), CacheKey::new("minilm", &i.to_string()));
    }
    let long = "x".repeat(KeyMemo::MAX_BYTES / 2 + 1);
    assert_eq!(m.key(&long), CacheKey::new("minilm", &long));
    assert_eq!(m.key(&format!("{long}y")), CacheKey::new("minilm", &format!("{long}y")));
}
