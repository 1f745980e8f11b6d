//! `attune rank`: a fresh profile from an events file, then the items ranked for it — the same
//! `Session` flow the JS API runs (here over a memory store).

use super::{load_encoder, optional, read_file, required};
use attune::compute::device::DeviceChoice;
use attune::personalize::{Candidate, RankOptions};
use attune::profile::{rules, Event, EventKind, Item};
use attune::session::Session;
use attune::store::MemoryStore;
use attune::{AttuneError, Result};
use pico_args::Arguments;
use serde::Deserialize;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One line of EVENTS.jsonl: `{"type", "item": {"id","text","tags"}, "ts"}` (ts in ms).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventLine {
    #[serde(rename = "type")]
    kind: EventKind,
    item: Item,
    #[serde(default, deserialize_with = "rules::optional_ms")]
    ts: Option<i64>,
    #[serde(default)]
    weight: Option<f32>,
    #[serde(default)]
    dwell_seconds: Option<f32>,
    #[serde(default)]
    query: Option<String>,
}

pub(super) fn lines<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let text = String::from_utf8(read_file(path)?)
        .map_err(|_| AttuneError::InvalidArgument(format!("{} is not UTF-8", path.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .map_err(|e| AttuneError::InvalidArgument(format!("{} line {}: {e}", path.display(), n + 1)))
        })
        .collect()
}

pub fn run(mut args: Arguments) -> Result<()> {
    let model: PathBuf = required(&mut args, "--model")?;
    let events_path: PathBuf = required(&mut args, "--events")?;
    let items_path: PathBuf = required(&mut args, "--items")?;
    let limit: Option<usize> = optional(&mut args, "--limit")?;
    let options: Option<String> = optional(&mut args, "--options")?;
    let device: DeviceChoice = optional(&mut args, "--device")?.unwrap_or_default();
    let vectors: Option<PathBuf> = optional(&mut args, "--vectors")?;
    if !super::positionals(args)?.is_empty() {
        return Err(AttuneError::InvalidArgument("rank takes no positional arguments".into()));
    }
    let mut opts: RankOptions = match options {
        Some(s) => serde_json::from_str(&s).map_err(|e| AttuneError::InvalidArgument(format!("--options: {e}")))?,
        None => RankOptions::default(),
    };
    if limit.is_some() {
        opts.limit = limit;
    }
    opts.validate()?;
    let events: Vec<EventLine> = lines(&events_path)?;
    let items: Vec<Candidate> = lines(&items_path)?;

    // "Now" is the latest event (a fixed clock: the same files give the same ranking); each
    // event's time is first checked against the wall clock, which catches microseconds.
    let now = events.iter().filter_map(|e| e.ts).max().unwrap_or(0);
    let wall_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let mut session = Session::new(MemoryStore::new("cli")?, load_encoder(&model, device)?);
    if let Some(path) = vectors {
        session.add_vectors(&read_file(&path)?)?;
    }
    pollster::block_on(async {
        for (n, e) in events.into_iter().enumerate() {
            let event = Event { kind: e.kind, item: e.item, weight: e.weight, dwell_seconds: e.dwell_seconds, query: e.query, at_ms: e.ts };
            let numbered = |err| match err {
                AttuneError::InvalidArgument(m) => AttuneError::InvalidArgument(format!("event {}: {m}", n + 1)),
                other => other,
            };
            rules::check(&event, wall_ms).map_err(numbered)?;
            session.track(&event, now).await.map_err(numbered)?;
        }
        let ranked = session.rank(&items, &opts, now).await?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for r in ranked {
            let reasons: Vec<&str> = r.reasons.iter().map(|x| x.text.as_str()).collect();
            writeln!(out, "{}", json!({ "id": r.id, "score": r.score, "reasons": reasons }))?;
        }
        out.flush()?;
        Ok(())
    })
}
