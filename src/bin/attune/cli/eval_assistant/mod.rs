//! `attune eval-assistant`: does the local assistant use the profile a person built, without
//! echoing its context block, looping, or leaking it into answers that did not need it?
//!
//! Each scripted case (tests/assistant_cases.json) builds a fresh profile through the same
//! `Session` flows the JS API runs (`track` with the real embedder, `remember`), then asks
//! its question as one user message twice: with the profile's context (what `assistant.reply`
//! does by default) and with none. Replies are judged by the rules of [`judge`]; the rates go
//! to stdout / `--out` as JSON with every reply, so each verdict can be read and checked.

mod judge;

use super::{load_encoder, optional, read_file, required};
use attune::assistant::context::FRAME;
use attune::assistant::{Assistant, ReplyOptions};
use attune::compute::device::DeviceChoice;
use attune::model::chat_template::ChatMessage;
use attune::profile::{Event, EventKind, Item};
use attune::session::Session;
use attune::store::{MemoryStore, Store};
use attune::{AttuneError, Result};
use pico_args::Arguments;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

const HOUR_MS: i64 = 3_600_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[allow(dead_code)]
    about: Vec<String>,
    now: i64,
    profiles: BTreeMap<String, ProfileSpec>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileSpec {
    memories: Vec<String>,
    events: Vec<EventSpec>,
    distinct: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventSpec {
    #[serde(rename = "type")]
    kind: EventKind,
    item: Item,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    category: String,
    profile: String,
    source: String,
    matters: bool,
    question: String,
    mention: Vec<String>,
    #[serde(default)]
    avoid: Vec<String>,
}

/// One reply and its verdicts.
struct Judged {
    reply: String,
    finish: &'static str,
    tokens: usize,
    profile_use: Option<bool>,
    answer: Option<bool>,
    leak: Option<bool>,
    echo: bool,
    looped: bool,
}

impl Judged {
    fn json(&self) -> Value {
        json!({
            "reply": self.reply, "finish": self.finish, "tokens": self.tokens,
            "profile_use": self.profile_use, "answer": self.answer, "leak": self.leak,
            "echo": self.echo, "loop": self.looped,
        })
    }
}

/// Counts toward the rates of one condition.
#[derive(Default, Clone)]
struct Tally {
    replies: usize,
    matters: usize,
    profile_use: usize,
    /// Profile used in a reply that neither echoes nor loops.
    clean_use: usize,
    neutral: usize,
    answer: usize,
    leak: usize,
    echo: usize,
    looped: usize,
    length: usize,
}

impl Tally {
    fn add(&mut self, j: &Judged) {
        self.replies += 1;
        if let Some(u) = j.profile_use {
            self.matters += 1;
            self.profile_use += usize::from(u);
            self.clean_use += usize::from(u && !j.echo && !j.looped);
        }
        if let (Some(a), Some(l)) = (j.answer, j.leak) {
            self.neutral += 1;
            self.answer += usize::from(a);
            self.leak += usize::from(l);
        }
        self.echo += usize::from(j.echo);
        self.looped += usize::from(j.looped);
        self.length += usize::from(j.finish == "max_tokens");
    }

    fn json(&self) -> Value {
        let rate = |n: usize, of: usize| if of == 0 { Value::Null } else { json!(((n as f64 / of as f64) * 1000.0).round() / 1000.0) };
        json!({
            "replies": self.replies, "profile_cases": self.matters, "neutral_cases": self.neutral,
            "profile_use": rate(self.profile_use, self.matters),
            "clean_profile_use": rate(self.clean_use, self.matters),
            "answer": rate(self.answer, self.neutral),
            "leak": rate(self.leak, self.neutral),
            "echo": rate(self.echo, self.replies),
            "loop": rate(self.looped, self.replies),
            "max_tokens_hit": rate(self.length, self.replies),
        })
    }
}

pub fn run(mut args: Arguments) -> Result<()> {
    let model: PathBuf = required(&mut args, "--model")?;
    let embedder: PathBuf = required(&mut args, "--embedder")?;
    let cases_path: PathBuf = optional(&mut args, "--cases")?.unwrap_or_else(|| "tests/assistant_cases.json".into());
    let out: Option<PathBuf> = optional(&mut args, "--out")?;
    let only: Option<String> = optional(&mut args, "--only")?;
    let mut opts = ReplyOptions::default();
    if let Some(n) = optional(&mut args, "--max-tokens")? {
        opts.max_tokens = n;
    }
    let s = &mut opts.sampling;
    s.temperature = optional(&mut args, "--temperature")?.unwrap_or(s.temperature);
    s.top_k = optional(&mut args, "--top-k")?.unwrap_or(s.top_k);
    s.top_p = optional(&mut args, "--top-p")?.unwrap_or(s.top_p);
    s.repetition_penalty = optional(&mut args, "--repeat-penalty")?.unwrap_or(s.repetition_penalty);
    s.seed = optional(&mut args, "--seed")?.unwrap_or(s.seed);
    s.dry_multiplier = optional(&mut args, "--dry-multiplier")?.unwrap_or(s.dry_multiplier);
    s.echo_allowed_length = optional(&mut args, "--echo-allowed-length")?.unwrap_or(s.echo_allowed_length);
    s.validate()?;
    if !super::positionals(args)?.is_empty() {
        return Err(AttuneError::InvalidArgument("eval-assistant takes no positional arguments".into()));
    }
    let file: CaseFile = serde_json::from_slice(&read_file(&cases_path)?)
        .map_err(|e| AttuneError::InvalidArgument(format!("{}: {e}", cases_path.display())))?;
    for c in &file.cases {
        if !file.profiles.contains_key(&c.profile) {
            return Err(AttuneError::InvalidArgument(format!("case {}: no profile {:?}", c.id, c.profile)));
        }
    }
    let wanted: Option<Vec<&str>> = only.as_deref().map(|o| o.split(',').collect());
    let cases: Vec<&Case> = file.cases.iter().filter(|c| wanted.as_ref().is_none_or(|w| w.contains(&c.id.as_str()))).collect();

    let t0 = Instant::now();
    let mut assistant = pollster::block_on(Assistant::load_on(Arc::new(read_file(&model)?), DeviceChoice::Cpu, None))?;
    let mut session = Session::new(MemoryStore::new("eval-assistant")?, load_encoder(&embedder, DeviceChoice::Cpu)?);
    let now = file.now;
    let (mut with, mut without) = (Tally::default(), Tally::default());
    let mut groups: BTreeMap<String, (Tally, Tally)> = BTreeMap::new();
    let mut results = Vec::new();
    let mut built: Option<&str> = None;
    for (n, case) in cases.iter().enumerate() {
        let spec = &file.profiles[&case.profile];
        if built != Some(case.profile.as_str()) {
            pollster::block_on(build_profile(&mut session, spec, now))?;
            built = Some(case.profile.as_str());
        }
        let messages = [ChatMessage::user(case.question.clone())];
        let ctx_opts = pollster::block_on(session.reply_options(&assistant, &messages, &opts, now))?;
        let block = ctx_opts.context.clone().unwrap_or_default();
        let none_opts = ReplyOptions { use_context: false, ..opts.clone() };
        let texts: Vec<String> =
            spec.memories.iter().cloned().chain(spec.events.iter().filter_map(|e| e.item.text.clone())).collect();
        let mut judged = Vec::new();
        for o in [&ctx_opts, &none_opts] {
            let reply = pollster::block_on(assistant.reply(&messages, o, |_| ControlFlow::Continue(())))?;
            judged.push(judge(case, spec, &texts, &block, reply.text, reply.finish.as_str(), reply.tokens.len()));
        }
        let (c, b) = (&judged[0], &judged[1]);
        eprintln!(
            "attune: eval-assistant {}/{} {}: context use={:?} echo={} loop={} leak={:?} | none use={:?} loop={} leak={:?}",
            n + 1, cases.len(), case.id, c.profile_use, c.echo, c.looped, c.leak, b.profile_use, b.looped, b.leak
        );
        with.add(c);
        without.add(b);
        for key in [format!("category:{}", case.category), format!("source:{}", case.source)] {
            let g = groups.entry(key).or_default();
            g.0.add(c);
            g.1.add(b);
        }
        results.push(json!({
            "id": case.id, "category": case.category, "source": case.source, "matters": case.matters,
            "question": case.question, "context_block": block, "context_tokens": assistant.count_tokens(&block)?,
            "with_context": c.json(), "without_context": b.json(),
        }));
    }
    let mut by_category = serde_json::Map::new();
    let mut by_source = serde_json::Map::new();
    for (k, (c, b)) in &groups {
        let v = json!({ "with_context": c.json(), "without_context": b.json() });
        match k.split_once(':') {
            Some(("category", name)) => by_category.insert(name.into(), v),
            Some((_, name)) => by_source.insert(name.into(), v),
            None => None,
        };
    }
    let s = &opts.sampling;
    let report = json!({
        "model": assistant.model_name(),
        "model_file": model.file_name().map(|f| f.to_string_lossy().into_owned()),
        "embedder_file": embedder.file_name().map(|f| f.to_string_lossy().into_owned()),
        "date": utc_date(),
        "cases": cases.len(),
        "settings": {
            "max_tokens": opts.max_tokens, "temperature": s.temperature, "top_k": s.top_k, "top_p": s.top_p,
            "repetition_penalty": s.repetition_penalty, "repeat_last_n": s.repeat_last_n, "seed": s.seed,
            "dry_multiplier": s.dry_multiplier, "dry_base": s.dry_base, "dry_allowed_length": s.dry_allowed_length,
            "echo_allowed_length": s.echo_allowed_length,
            "stop": opts.stop, "context_budget": opts.context_options.budget,
        },
        "rates": { "with_context": with.json(), "without_context": without.json() },
        "by_category": by_category,
        "by_source": by_source,
        "seconds": (t0.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        "results": results,
    });
    let text = serde_json::to_string_pretty(&report).map_err(|e| AttuneError::Io(e.to_string()))?;
    if let Some(path) = out {
        std::fs::write(&path, &text).map_err(|e| AttuneError::Io(format!("{}: {e}", path.display())))?;
    }
    println!("{}", serde_json::to_string_pretty(&report["rates"]).unwrap_or_default());
    Ok(())
}

/// A fresh profile from `spec`: events one hour apart ending at `now`, then the memories.
async fn build_profile(session: &mut Session<MemoryStore>, spec: &ProfileSpec, now: i64) -> Result<()> {
    session.store().clear().await?;
    let n = spec.events.len() as i64;
    for (i, e) in spec.events.iter().enumerate() {
        let at = now - (n - 1 - i as i64) * HOUR_MS;
        session.track(&Event::new(e.kind, e.item.clone()).at(at), at).await?;
    }
    for m in &spec.memories {
        session.remember(m, now).await?;
    }
    Ok(())
}

fn judge(case: &Case, spec: &ProfileSpec, texts: &[String], block: &str, reply: String, finish: &'static str, tokens: usize) -> Judged {
    let (profile_use, answer, leak) = if case.matters {
        (Some(judge::uses_profile(&reply, &case.mention, &case.avoid)), None, None)
    } else {
        let answer = case.mention.iter().any(|t| judge::has_term(&reply, t));
        (None, Some(answer), Some(judge::leaks(&reply, &case.question, &spec.distinct, texts)))
    };
    Judged {
        echo: judge::echoes(&reply, block, &FRAME),
        looped: judge::loops(&reply),
        reply,
        finish,
        tokens,
        profile_use,
        answer,
        leak,
    }
}

/// Today's date in UTC as YYYY-MM-DD (civil-from-days, H. Hinnant's algorithm).
fn utc_date() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
