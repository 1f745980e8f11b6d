//! The `attune embed` command line: arguments, stdin, order, empty lines.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{cosine, models_dir};
use std::io::Write;
use std::process::{Command, Stdio};

fn attune() -> Command {
    Command::new(env!("CARGO_BIN_EXE_attune"))
}

fn parse_lines(stdout: &[u8]) -> Vec<Vec<f32>> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn embed_arguments_and_stdin_agree_in_order() {
    let model = models_dir().join("minilm-l6-v2.q8_0.gguf");
    let texts = ["I ride my bike to work", "", "Jazz trumpet solo", "-starts with a dash"];
    let out = attune().arg("embed").arg("--model").arg(&model).arg("--").args(texts).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let from_args = parse_lines(&out.stdout);
    assert_eq!(from_args.len(), 4);
    assert!(from_args.iter().all(|v| v.len() == 384));

    let mut child = attune()
        .args(["embed", "--model"])
        .arg(&model)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(texts.join("\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let from_stdin = parse_lines(&out.stdout);
    assert_eq!(from_stdin.len(), 4, "one line per input, the empty line included");
    for (a, b) in from_args.iter().zip(&from_stdin) {
        assert!(cosine(a, b) > 0.999999);
    }
    // Different texts really give different vectors.
    assert!(cosine(&from_args[0], &from_args[2]) < 0.9);
}

#[test]
fn bad_usage_and_bad_files_exit_nonzero_with_a_code() {
    let out = attune().args(["embed", "--model", "/nonexistent.gguf", "x"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("[io]"));
    let out = attune().args(["embed", "x"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("[invalid_argument]"));
    let out = attune().args(["frobnicate"]).output().unwrap();
    assert!(!out.status.success());
}
