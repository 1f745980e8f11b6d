//! GGUF reader: header, metadata, tensor table and tensor data bounds, then everything a model
//! load reads from the metadata alone (configs, tokenizers, chat template). Any input must give
//! a value or an `AttuneError`; a panic, an abort or a sanitizer report is a bug.
#![no_main]

use attune::compute::SharedBytes;
use attune::model::bert::BertConfig;
use attune::model::bpe_tokenizer::BpeTokenizer;
use attune::model::chat_template::{ChatMessage, ChatTemplate};
use attune::model::gguf::GgufFile;
use attune::model::llama::LlamaConfig;
use attune::model::tokenizer::TextTokenizer;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let shared: SharedBytes = Arc::new(data.to_vec());
    let Ok(file) = GgufFile::parse(&shared) else { return };
    // Every tensor the parser accepted lies inside the file and has the size its type needs.
    for info in file.tensors() {
        let bytes = file.tensor_data(info);
        assert_eq!(bytes.len(), info.n_bytes, "tensor {} data out of bounds", info.name);
        let src = file.weight_source(info, &shared).expect("a parsed tensor is a valid weight source");
        assert_eq!(src.data().expect("in bounds").len(), info.n_bytes);
        assert!(file.tensor(&info.name).is_some());
    }
    for (key, value) in file.metadata() {
        assert!(file.get(key).is_some());
        let _ = (value.type_name(), value.as_str(), value.as_f64(), value.as_i128());
        let _ = (file.u32(key), file.i32_array(key), file.u32_array(key), file.f32_array(key), file.str_array(key));
    }
    let _ = file.architecture();
    let _ = BertConfig::from_gguf(&file);
    let _ = LlamaConfig::from_gguf(&file);
    if let Ok(tok) = TextTokenizer::from_bert_gguf(&file, 64) {
        let _ = tok.encode("Hello [SEP] wörld, 123!");
    }
    if let Ok(tok) = BpeTokenizer::from_gguf(&file) {
        if let Ok(ids) = tok.encode("Hello <|im_start|> wörld\n 123") {
            let _ = tok.decode(&ids, false);
        }
    }
    if let Ok(t) = ChatTemplate::from_gguf(&file) {
        let _ = t.render(&[ChatMessage::system("be brief"), ChatMessage::user("hi")], true);
    }
});
