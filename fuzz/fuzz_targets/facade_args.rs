//! The arguments of every facade method, parsed and checked as the wasm facade does before it
//! touches the profile or a model: the JSON of `AttuneCore`'s methods, the `Assistant`'s
//! options and messages, `open`'s namespace and device, `addVectors`' binary file. The first
//! byte picks the method, the rest is its argument. Any input gives a value or an
//! `invalid_argument` / `input_too_large` / `model_unsupported` (a vector file of another
//! model) error.
#![no_main]

use attune::assistant::ContextOptions;
use attune::compute::device::DeviceChoice;
use attune::embedding::Catalog;
use attune::personalize::options::validate_items;
use attune::personalize::{Candidate, RankOptions, SimilarOptions, TopicOptions};
use attune::profile::rules;
use attune::store::record::check_namespace;
use attune::web::args::{self, ForgetArgs, TrackArgs};
use attune::web::chat_args;
use attune::Result;
use libfuzzer_sys::fuzz_target;

const NOW_MS: i64 = 1_700_000_000_000;
/// The embedder id a vector file must name (the seeds' files do).
pub const MODEL: &str = "fuzz-model";

fn call(method: u8, arg: &[u8]) -> Result<()> {
    if method % 16 == 14 {
        let catalog = Catalog::read(arg, MODEL)?;
        assert!(catalog.len() <= arg.len() / 3, "more entries than the bytes can hold");
        return Ok(());
    }
    let Ok(json) = std::str::from_utf8(arg) else { return Ok(()) };
    match method % 16 {
        0 => rules::check(&args::parse::<TrackArgs>(json, "track")?.into_event()?, NOW_MS),
        1 => args::parse::<ForgetArgs>(json, "forget")?.into_forget().map(drop),
        2 => args::embed_texts(json).map(drop),
        3 => args::memory_text(json).map(drop),
        4 => args::similar_query(json).map(drop),
        5 => validate_items(&args::parse::<Vec<Candidate>>(json, "rank(items)")?),
        6 => args::options::<RankOptions>(json, "rank(options)")?.validate(),
        7 => args::options::<SimilarOptions>(json, "similar(options)")?.validate(),
        8 => args::options::<TopicOptions>(json, "topics(options)")?.validate(),
        9 => args::options::<ContextOptions>(json, "context(options)")?.validate(),
        10 => args::parse::<String>(json, "context(query)").map(drop),
        11 => chat_args::load_options(&json_value(json)?, true).map(drop),
        12 => chat_args::reply_options(&json_value(json)?).map(drop),
        13 => chat_args::messages(&json_value(json)?).map(drop),
        _ => {
            let (namespace, device) = json.split_once('\n').unwrap_or((json, "auto"));
            check_namespace(namespace)?;
            device.parse::<DeviceChoice>().map(drop)
        }
    }
}

/// The Assistant's arguments arrive as JS values; JSON stands in for them natively.
fn json_value(json: &str) -> Result<serde_json::Value> {
    args::parse(json, "argument")
}

fuzz_target!(|data: &[u8]| {
    let Some((&method, arg)) = data.split_first() else { return };
    if let Err(e) = call(method, arg) {
        let ok = matches!(e.code(), "invalid_argument" | "input_too_large" | "model_unsupported");
        assert!(ok, "method {method}: code {} ({e})", e.code());
    }
});
