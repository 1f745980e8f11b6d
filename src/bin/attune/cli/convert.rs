//! `attune convert`: a sentence-transformers BERT checkpoint directory → one GGUF file.

use super::{optional, positionals, read_file, required};
use attune::model::convert::{convert_bert, BertCheckpoint, OutType};
use attune::{AttuneError, Result};
use pico_args::Arguments;
use std::path::{Path, PathBuf};

pub fn run(mut args: Arguments) -> Result<()> {
    let dir: PathBuf = required(&mut args, "--model-dir")?;
    let ty: String = required(&mut args, "--type")?;
    let out: PathBuf = required(&mut args, "--out")?;
    let name: Option<String> = optional(&mut args, "--name")?;
    if !positionals(args)?.is_empty() {
        return Err(AttuneError::InvalidArgument("convert takes no positional arguments".into()));
    }
    let ty = OutType::parse(&ty)?;

    let safetensors = read_file(&dir.join("model.safetensors"))?;
    let config = read_text(&dir.join("config.json"))?;
    let tokenizer = read_text(&dir.join("tokenizer.json"))?;
    let sentence_bert = read_optional_text(&dir.join("sentence_bert_config.json"))?;
    let pooling = read_optional_text(&dir.join("1_Pooling/config.json"))?;
    let modules = read_optional_text(&dir.join("modules.json"))?;
    let gguf = convert_bert(
        &BertCheckpoint {
            safetensors: &safetensors,
            config_json: &config,
            tokenizer_json: &tokenizer,
            sentence_bert_config_json: sentence_bert.as_deref(),
            pooling_config_json: pooling.as_deref(),
            modules_json: modules.as_deref(),
            name: name.as_deref(),
        },
        ty,
    )?;
    std::fs::write(&out, &gguf).map_err(|e| AttuneError::Io(format!("{}: {e}", out.display())))?;
    eprintln!("wrote {} ({} bytes)", out.display(), gguf.len());
    Ok(())
}

fn read_text(path: &Path) -> Result<String> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| AttuneError::InvalidArgument(format!("{} is not UTF-8", path.display())))
}

fn read_optional_text(path: &Path) -> Result<Option<String>> {
    if path.exists() { read_text(path).map(Some) } else { Ok(None) }
}
