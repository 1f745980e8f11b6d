//! sentence-transformers BERT (safetensors + JSON) → GGUF with llama.cpp's `bert` names.

use super::tokenizer::read_vocab;
use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufWriter;
use crate::quant::{quantize_best, GgmlType, QK};
use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;
use serde_json::Value as Json;

/// The files of a sentence-transformers checkpoint, as bytes and text.
#[derive(Clone, Copy, Debug, Default)]
pub struct BertCheckpoint<'a> {
    /// `model.safetensors`.
    pub safetensors: &'a [u8],
    /// `config.json` (the Hugging Face BertConfig).
    pub config_json: &'a str,
    /// `tokenizer.json`, stored unchanged as `tokenizer.huggingface.json`.
    pub tokenizer_json: &'a str,
    /// `sentence_bert_config.json` (`max_seq_length`, default 256).
    pub sentence_bert_config_json: Option<&'a str>,
    /// `1_Pooling/config.json` (mean pooling when absent).
    pub pooling_config_json: Option<&'a str>,
    /// `modules.json`; embeddings are L2-normalized when it lists a `Normalize` module, or
    /// when it is absent.
    pub modules_json: Option<&'a str>,
    /// `general.name` (default "bert").
    pub name: Option<&'a str>,
}

/// The type of the converted weights: one type throughout, or for `Q4_0` a Q4_0/Q8_0 mix
/// (see `OutType::weight`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutType {
    F32,
    F16,
    Q8_0,
    Q4_0,
}

impl OutType {
    /// "f32", "f16", "q8_0" or "q4_0" (any case).
    pub fn parse(s: &str) -> Result<OutType> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "f32" => OutType::F32,
            "f16" => OutType::F16,
            "q8_0" => OutType::Q8_0,
            "q4_0" => OutType::Q4_0,
            _ => {
                return Err(AttuneError::InvalidArgument(format!(
                    "output type {s:?}: expected f32, f16, q8_0 or q4_0"
                )))
            }
        })
    }

    /// llama.cpp's `general.file_type` (LLAMA_FTYPE_*).
    pub fn file_type(self) -> u32 {
        match self {
            OutType::F32 => 0,
            OutType::F16 => 1,
            OutType::Q4_0 => 2,
            OutType::Q8_0 => 7,
        }
    }

    /// Type of the 2-D weight `role`: `token_embd` or `position_embd` (the lookup tables),
    /// or a transformer block's `attn_q`, `attn_k`, `attn_v`, `attn_output`, `ffn_up`,
    /// `ffn_down`.
    ///
    /// `Q4_0` is a mix, as llama.cpp's "mostly Q4_0" files are (`general.file_type` stays 2):
    /// Q4_0 (with the searched scales of [`crate::quant::BlockQ4_0::quantize_best`]) where 4 bits
    /// cost least, Q8_0 where they cost most:
    /// - `token_embd` (30522 x 384, over half the model's weights): Q4_0. A looked-up row's
    ///   error enters the residual stream once, is summed with the position row and
    ///   layer-normalized; it does not compound through the layers the way a projection's
    ///   error does, so this table is the cheapest place to save bytes.
    /// - `attn_q`, `attn_k`: Q4_0. Their error only perturbs the attention scores, which the
    ///   softmax flattens.
    /// - `position_embd` (small), `attn_v`, `attn_output`, `ffn_up`, `ffn_down`: Q8_0. These
    ///   write straight into the residual stream; any of them at 4 bits costs several
    ///   hundredths of cosine on the worst sentence.
    ///
    /// On all-MiniLM-L6-v2 against the numpy reference (131 fixture sentences, cosine, min /
    /// mean): every projection at Q4_0 with Q8_0 tables (llama.cpp's rounding) gave 19.9 MB,
    /// 0.868 / 0.951; this mix gives 18.4 MB, 0.981 / 0.996 (Q8_0: 25.2 MB, 0.998 / 0.999).
    /// Also putting `attn_output` at Q4_0 (18.0 MB) drops the worst sentence to 0.963.
    fn weight(self, role: &str) -> GgmlType {
        match self {
            OutType::F32 => GgmlType::F32,
            OutType::F16 => GgmlType::F16,
            OutType::Q8_0 => GgmlType::Q8_0,
            OutType::Q4_0 => match role {
                "token_embd" | "attn_q" | "attn_k" => GgmlType::Q4_0,
                _ => GgmlType::Q8_0,
            },
        }
    }

    /// Whether the weights are block-quantized (then `general.quantization_version` is set).
    fn quantized(self) -> bool {
        matches!(self, OutType::Q8_0 | OutType::Q4_0)
    }
}

#[derive(Deserialize)]
struct BertConfig {
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    vocab_size: usize,
    #[serde(default = "default_type_vocab")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    hidden_act: Option<String>,
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    position_embedding_type: Option<String>,
}

fn default_type_vocab() -> usize {
    2
}

fn default_eps() -> f64 {
    1e-12
}

fn json_err(file: &str, e: serde_json::Error) -> AttuneError {
    AttuneError::ModelFormat(format!("{file}: {e}"))
}

fn unsupported(msg: String) -> AttuneError {
    AttuneError::ModelUnsupported(msg)
}

fn read_config(text: &str) -> Result<BertConfig> {
    let c: BertConfig = serde_json::from_str(text).map_err(|e| json_err("config.json", e))?;
    if let Some(t) = c.model_type.as_deref().filter(|t| *t != "bert") {
        return Err(unsupported(format!(
            "config.json: model_type {t:?}, expected \"bert\""
        )));
    }
    if let Some(a) = c.hidden_act.as_deref().filter(|a| *a != "gelu") {
        return Err(unsupported(format!(
            "config.json: hidden_act {a:?}, only \"gelu\" converts"
        )));
    }
    if let Some(p) = c
        .position_embedding_type
        .as_deref()
        .filter(|p| *p != "absolute")
    {
        return Err(unsupported(format!(
            "config.json: position_embedding_type {p:?}"
        )));
    }
    let dims = [
        c.hidden_size,
        c.num_hidden_layers,
        c.num_attention_heads,
        c.intermediate_size,
        c.max_position_embeddings,
        c.vocab_size,
        c.type_vocab_size,
    ];
    if dims.contains(&0) || c.hidden_size % c.num_attention_heads != 0 {
        return Err(AttuneError::ModelFormat(format!(
            "config.json: sizes must be nonzero and hidden_size {} divisible by num_attention_heads {}",
            c.hidden_size, c.num_attention_heads
        )));
    }
    if !(c.layer_norm_eps.is_finite() && c.layer_norm_eps > 0.0) {
        return Err(AttuneError::ModelFormat(
            "config.json: bad layer_norm_eps".into(),
        ));
    }
    Ok(c)
}

/// Mean → 1, CLS → 2 (llama.cpp's pooling types), plus the sentence-transformers name.
fn read_pooling(text: Option<&str>, hidden: usize) -> Result<(u32, &'static str)> {
    let Some(text) = text else {
        return Ok((1, "mean"));
    };
    let j: Json = serde_json::from_str(text).map_err(|e| json_err("1_Pooling/config.json", e))?;
    if let Some(d) = j.get("word_embedding_dimension").and_then(Json::as_u64) {
        if d != hidden as u64 {
            return Err(AttuneError::ModelFormat(format!(
                "1_Pooling/config.json: word_embedding_dimension {d} != hidden_size {hidden}"
            )));
        }
    }
    let on = |k: &str| j.get(k).and_then(Json::as_bool).unwrap_or(false);
    let mode = j.get("pooling_mode").and_then(Json::as_str);
    let others = [
        "pooling_mode_max_tokens",
        "pooling_mode_mean_sqrt_len_tokens",
        "pooling_mode_weightedmean_tokens",
        "pooling_mode_lasttoken",
    ];
    let (mean, cls) = (
        on("pooling_mode_mean_tokens") || mode == Some("mean"),
        on("pooling_mode_cls_token") || mode == Some("cls"),
    );
    if others.iter().any(|k| on(k)) || (mean && cls) || (!mean && !cls && mode.is_some()) {
        return Err(unsupported(format!(
            "1_Pooling/config.json: only a single mean or CLS pooling converts ({})",
            text.trim()
        )));
    }
    Ok(if cls { (2, "cls") } else { (1, "mean") })
}

fn read_max_seq(text: Option<&str>, max_pos: usize) -> Result<u32> {
    let mut n = 256u64;
    if let Some(text) = text {
        let j: Json =
            serde_json::from_str(text).map_err(|e| json_err("sentence_bert_config.json", e))?;
        if let Some(v) = j.get("max_seq_length").filter(|v| !v.is_null()) {
            n = v.as_u64().filter(|&n| n > 0).ok_or_else(|| {
                AttuneError::ModelFormat(format!("sentence_bert_config.json: max_seq_length {v}"))
            })?;
        }
    }
    // The model cannot see past its position table.
    Ok(n.min(max_pos as u64).min(u32::MAX as u64) as u32)
}

fn read_normalize(text: Option<&str>) -> Result<bool> {
    let Some(text) = text else { return Ok(true) };
    let j: Json = serde_json::from_str(text).map_err(|e| json_err("modules.json", e))?;
    let modules = j
        .as_array()
        .ok_or_else(|| AttuneError::ModelFormat("modules.json is not a list".into()))?;
    Ok(modules.iter().any(|m| {
        m.get("type")
            .and_then(Json::as_str)
            .is_some_and(|t| t.ends_with(".Normalize"))
    }))
}

/// The checkpoint's tensors, found under their plain or `bert.`-prefixed names.
struct Source<'a> {
    st: SafeTensors<'a>,
}

impl<'a> Source<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| AttuneError::ModelFormat(format!("model.safetensors: {e}")))?;
        Ok(Source { st })
    }

    /// Tensor `name` (tried with and without `bert.`, and with LayerNorm's old
    /// `gamma`/`beta` names) as f32, checked to have `shape`.
    fn load(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let mut candidates = vec![name.to_string(), format!("bert.{name}")];
        if let Some(base) = name.strip_suffix("LayerNorm.weight") {
            candidates.push(format!("{base}LayerNorm.gamma"));
            candidates.push(format!("bert.{base}LayerNorm.gamma"));
        } else if let Some(base) = name.strip_suffix("LayerNorm.bias") {
            candidates.push(format!("{base}LayerNorm.beta"));
            candidates.push(format!("bert.{base}LayerNorm.beta"));
        }
        let (found, view) = candidates
            .iter()
            .find_map(|n| self.st.tensor(n).ok().map(|v| (n, v)))
            .ok_or_else(|| {
                AttuneError::ModelFormat(format!("model.safetensors has no tensor {name}"))
            })?;
        if view.shape() != shape {
            return Err(AttuneError::ModelFormat(format!(
                "tensor {found} has shape {:?}, expected {shape:?}",
                view.shape()
            )));
        }
        let data = view.data();
        Ok(match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(unsupported(format!(
                    "tensor {found} has dtype {other:?}; only F32, F16 and BF16 convert"
                )))
            }
        })
    }
}

/// Converts a sentence-transformers BERT checkpoint into GGUF bytes.
///
/// Biases, norms and `token_types.weight` stay F32; the token and position tables and the
/// blocks' matmul weights take the type `out` gives each (see [`OutType`]'s `weight`: Q8_0
/// everywhere for `Q8_0`, a Q4_0/Q8_0 mix for `Q4_0`), falling back to F16 for a weight whose
/// rows are not a whole number of 32-element blocks, as llama.cpp does.
pub fn convert_bert(ck: &BertCheckpoint<'_>, out: OutType) -> Result<Vec<u8>> {
    let c = read_config(ck.config_json)?;
    let (pooling_type, pooling_mode) = read_pooling(ck.pooling_config_json, c.hidden_size)?;
    let max_seq = read_max_seq(ck.sentence_bert_config_json, c.max_position_embeddings)?;
    let normalize = read_normalize(ck.modules_json)?;
    let vocab = read_vocab(ck.tokenizer_json, c.vocab_size)?;
    let src = Source::new(ck.safetensors)?;
    let u32_of = |x: usize, what: &str| {
        u32::try_from(x)
            .map_err(|_| AttuneError::ModelFormat(format!("config.json: {what} {x} too large")))
    };

    let mut w = GgufWriter::new();
    w.add("general.architecture", "bert")?;
    w.add("general.name", ck.name.unwrap_or("bert"))?;
    w.add("general.file_type", out.file_type())?;
    if out.quantized() {
        w.add("general.quantization_version", 2u32)?;
    }
    w.add(
        "bert.context_length",
        u32_of(c.max_position_embeddings, "max_position_embeddings")?,
    )?;
    w.add(
        "bert.embedding_length",
        u32_of(c.hidden_size, "hidden_size")?,
    )?;
    w.add(
        "bert.feed_forward_length",
        u32_of(c.intermediate_size, "intermediate_size")?,
    )?;
    w.add(
        "bert.block_count",
        u32_of(c.num_hidden_layers, "num_hidden_layers")?,
    )?;
    w.add(
        "bert.attention.head_count",
        u32_of(c.num_attention_heads, "num_attention_heads")?,
    )?;
    w.add("bert.attention.layer_norm_epsilon", c.layer_norm_eps as f32)?;
    w.add("bert.attention.causal", false)?;
    w.add("bert.pooling_type", pooling_type)?;
    w.add("tokenizer.ggml.model", "bert")?;
    w.add("tokenizer.ggml.tokens", vocab.tokens)?;
    w.add("tokenizer.ggml.token_type", vocab.types)?;
    w.add(
        "tokenizer.ggml.token_type_count",
        u32_of(c.type_vocab_size, "type_vocab_size")?,
    )?;
    for (key, id) in [
        ("unknown", vocab.unk),
        ("seperator", vocab.sep), // sic: llama.cpp's spelling
        ("padding", vocab.pad),
        ("cls", vocab.cls),
        ("mask", vocab.mask),
    ] {
        if let Some(id) = id {
            w.add(format!("tokenizer.ggml.{key}_token_id"), id)?;
        }
    }
    w.add("tokenizer.huggingface.json", ck.tokenizer_json)?;
    w.add("sentence_transformers.max_seq_length", max_seq)?;
    w.add("sentence_transformers.pooling_mode", pooling_mode)?;
    w.add("sentence_transformers.normalize", normalize)?;

    let h = c.hidden_size;
    let put =
        |w: &mut GgufWriter, from: &str, to: &str, shape: &[usize], ty: GgmlType| -> Result<()> {
            let data = src.load(from, shape)?;
            // Weights of rows that are no whole number of blocks fall back to F16.
            let ty = if ty.block_elems() > 1 && shape[shape.len() - 1] % QK != 0 {
                GgmlType::F16
            } else {
                ty
            };
            let bytes = quantize_best(ty, &data)?;
            // safetensors is row-major [rows, cols]; GGUF lists ne0 (= cols) first.
            let dims: Vec<u64> = shape.iter().rev().map(|&d| d as u64).collect();
            w.add_tensor(to, &dims, ty, bytes)?;
            Ok(())
        };
    let f32t = GgmlType::F32;
    put(
        &mut w,
        "embeddings.word_embeddings.weight",
        "token_embd.weight",
        &[c.vocab_size, h],
        out.weight("token_embd"),
    )?;
    put(
        &mut w,
        "embeddings.token_type_embeddings.weight",
        "token_types.weight",
        &[c.type_vocab_size, h],
        f32t,
    )?;
    put(
        &mut w,
        "embeddings.position_embeddings.weight",
        "position_embd.weight",
        &[c.max_position_embeddings, h],
        out.weight("position_embd"),
    )?;
    put(
        &mut w,
        "embeddings.LayerNorm.weight",
        "token_embd_norm.weight",
        &[h],
        f32t,
    )?;
    put(
        &mut w,
        "embeddings.LayerNorm.bias",
        "token_embd_norm.bias",
        &[h],
        f32t,
    )?;
    let ffn = c.intermediate_size;
    for i in 0..c.num_hidden_layers {
        let hf = format!("encoder.layer.{i}");
        let gg = format!("blk.{i}");
        for (from, to, rows, cols) in [
            ("attention.self.query", "attn_q", h, h),
            ("attention.self.key", "attn_k", h, h),
            ("attention.self.value", "attn_v", h, h),
            ("attention.output.dense", "attn_output", h, h),
            ("intermediate.dense", "ffn_up", ffn, h),
            ("output.dense", "ffn_down", h, ffn),
        ] {
            put(
                &mut w,
                &format!("{hf}.{from}.weight"),
                &format!("{gg}.{to}.weight"),
                &[rows, cols],
                out.weight(to),
            )?;
            put(
                &mut w,
                &format!("{hf}.{from}.bias"),
                &format!("{gg}.{to}.bias"),
                &[rows],
                f32t,
            )?;
        }
        for (from, to) in [
            ("attention.output.LayerNorm", "attn_output_norm"),
            ("output.LayerNorm", "layer_output_norm"),
        ] {
            put(
                &mut w,
                &format!("{hf}.{from}.weight"),
                &format!("{gg}.{to}.weight"),
                &[h],
                f32t,
            )?;
            put(
                &mut w,
                &format!("{hf}.{from}.bias"),
                &format!("{gg}.{to}.bias"),
                &[h],
                f32t,
            )?;
        }
    }
    w.to_bytes()
}
