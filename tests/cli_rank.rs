//! `attune rank`: events and items as JSON lines in, one ranked JSON line per item out.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::models_dir;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

const EVENTS: &str = r#"{"type":"like","item":{"id":"a1","text":"A week of road cycling over the Alpine passes","tags":["cycling"]},"ts":1700000000000}
{"type":"like","item":{"id":"a2","text":"Choosing a gravel bike for long rides","tags":["cycling"]},"ts":1700000100000}

{"type":"dislike","item":{"id":"a3","text":"Celebrity gossip from the red carpet","tags":["celebrities"]},"ts":1700000200000}
{"type":"hide","item":{"id":"x5"},"ts":1700000300000}
"#;

const ITEMS: &str = r#"{"id":"x1","text":"Which actor wore the most expensive dress at the gala","tags":["celebrities"],"prior":0.5}
{"id":"x2","text":"Training plan for your first 100 km bike ride","tags":["cycling"],"prior":0.5}
{"id":"x3","text":"The best stock market funds for retirement","prior":0.5}
{"id":"x4","text":"A simple recipe for fresh tomato pasta"}
{"id":"x5","text":"Hidden by the user"}
"#;

fn dir(name: &str, events: &str, items: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attune-cli-rank-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("events.jsonl"), events).unwrap();
    std::fs::write(d.join("items.jsonl"), items).unwrap();
    d
}

fn rank(d: &PathBuf, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attune"))
        .arg("rank")
        .arg("--model")
        .arg(models_dir().join("minilm-l6-v2.q8_0.gguf"))
        .arg("--events")
        .arg(d.join("events.jsonl"))
        .arg("--items")
        .arg(d.join("items.jsonl"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn rank_prints_every_item_once_best_first_with_reasons() {
    let d = dir("ok", EVENTS, ITEMS);
    let out = rank(&d, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["x1", "x2", "x3", "x4"], "every item but the hidden one");
    assert_eq!(ids[0], "x2", "{ids:?}");
    let pos = |id: &str| ids.iter().position(|x| *x == id).unwrap();
    assert!(pos("x1") > pos("x3"), "the disliked topic below a neutral item of the same prior: {ids:?}");
    let scores: Vec<f64> = lines.iter().map(|l| l["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(lines.iter().all(|l| l["reasons"].as_array().unwrap().len() <= 2));
    assert!(lines[0]["reasons"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("cycling")), "{:?}", lines[0]);

    let out = rank(&d, &["--limit", "2"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
}

#[test]
fn rank_refuses_bad_files_with_a_code() {
    let d = dir("dup", EVENTS, "{\"id\":\"a\"}\n{\"id\":\"a\"}\n");
    let out = rank(&d, &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("[invalid_argument]"));
    let d = dir("badline", "{\"type\":\"like\"\n", ITEMS);
    let err = String::from_utf8_lossy(&rank(&d, &[]).stderr).to_string();
    assert!(err.contains("[invalid_argument]") && err.contains("line 1"), "{err}");
    let d = dir("prior", "", "{\"id\":\"a\",\"prior\":7}\n");
    assert!(String::from_utf8_lossy(&rank(&d, &[]).stderr).contains("[invalid_argument]"));
}

#[test]
fn rank_refuses_events_the_profile_rules_refuse() {
    // The same rules as the JS track (profile::rules): a microsecond or seconds timestamp, a
    // fractional one, a negative weight; the message names the event.
    for (name, line, says) in [
        ("micro", r#"{"type":"like","item":{"id":"a"},"ts":1700000000000000}"#, "not microseconds"),
        ("secs", r#"{"type":"like","item":{"id":"a"},"ts":1700000000}"#, "before 2000-01-01"),
        ("frac", r#"{"type":"like","item":{"id":"a"},"ts":1700000000000.5}"#, "whole number of milliseconds"),
        ("negw", r#"{"type":"like","item":{"id":"a"},"ts":1700000000000,"weight":-1}"#, "weight -1"),
    ] {
        let d = dir(name, &format!("{}{line}\n", EVENTS), ITEMS);
        let out = rank(&d, &[]);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success() && err.contains("[invalid_argument]") && err.contains(says), "{name}: {err}");
    }
}
