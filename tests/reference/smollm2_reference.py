#!/usr/bin/env python3
"""Independent reference for the SmolLM2-135M-Instruct chat model (issue 5 fixture).

Shares no code with the Rust crate:
- weights: read with the PyPI `gguf` package and dequantized by `gguf.quants.dequantize`
  (Q4_1, Q8_0, F32), spot-checked against a hand-written Q4_1/Q8_0 block decoder below;
- forward: a plain numpy float64 Llama (RMSNorm, RoPE in llama.cpp's "normal" mode, i.e.
  rotating adjacent pairs (x[2i], x[2i+1]) because llama.cpp's converter permutes the q/k
  rows for that mode, grouped-query attention, SwiGLU, output head tied to token_embd);
- tokenizer: a pure-Python byte-level BPE (the `regex` module for \\p{..} classes) built from
  the GGUF's tokenizer.ggml.* keys, with llama.cpp's `smollm` pre-tokenizer (every \\p{N}
  character alone, then the GPT-2 split pattern) and control tokens matched in the text;
  cross-checked against a second implementation, the Python `tokenizers` package;
- chat template: `tokenizer.chat_template` rendered by Python `jinja2` the way transformers
  renders chat templates (sandboxed, trim_blocks, lstrip_blocks, raise_exception).

Usage (creates <repo>/.venv-chat with the pinned requirements-chat.txt on first run):
    python3 tests/reference/smollm2_reference.py            # writes tests/fixtures/smollm2_reference.json
    python3 tests/reference/smollm2_reference.py --check    # recompute, compare with the fixture
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-chat"
REQS = Path(__file__).resolve().with_name("requirements-chat.txt")
DEFAULT_OUT = REPO / "tests" / "fixtures" / "smollm2_reference.json"
MODEL_FILE = "smollm2-135m-instruct.q4_1.gguf"
N_GREEDY = 32


def ensure_venv():
    """Re-exec inside <repo>/.venv-chat with the pinned requirements installed."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"creating venv {VENV}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    stamp = VENV / ".smollm2-reference-reqs"
    want = REQS.read_text()
    if not stamp.exists() or stamp.read_text() != want:
        subprocess.check_call([str(py), "-m", "pip", "install", "-q", "-r", str(REQS)])
        stamp.write_text(want)
    os.execv(str(py), [str(py), str(Path(__file__).resolve())] + sys.argv[1:])


def models_dir():
    env = os.environ.get("ATTUNE_MODELS_DIR")
    return Path(env) if env else REPO / "models" / "out"


# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------

# Chosen among candidates for a clear lead of the greedy token at every one of the 32 steps
# (smallest top-1/top-2 logit gap 0.049 to 0.085), so that an f32 forward with 8-bit activation
# quantization (as llama.cpp and our CPU backend do) has room to agree token for token.
PROMPTS = [
    {"raw": "Water boils at"},
    {"messages": [{"role": "user", "content": "Give me three tips for staying focused while studying."}]},
    {
        "messages": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi! How can I help you today?"},
            {"role": "user", "content": "Suggest a good book to read this weekend."},
        ]
    },
    {
        "messages": [
            {"role": "system", "content": "You are a concise assistant. Answer in one sentence."},
            {"role": "user", "content": "Why is the sky blue?"},
        ]
    },
]

TOKENIZER_CORPUS = [
    "",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    " leading space and trailing space ",
    "I'm sure they'll say it's what we've done, isn't it? You'd THINK so... 'quoted'",
    "Numbers: 0 7 42 1234567890 3.14159 -17 1e-5 2024-11-29 $19.99 100%",
    "Unicode digits: ٣٤٥ ½ ² Ⅻ ①",
    "Café, naïve, façade, jalapeño, Ångström, Straße, Øresund, crème brûlée.",
    "Ελληνικά και русский текст, עברית, العربية.",
    "Emoji: 😀 🎉 👍🏽 🇫🇷 ❤️ and a family 👨‍👩‍👧‍👦 (ZWJ), 🧑‍💻 coding.",
    "中文文本：今天天气很好，我们去公园散步吧。",
    "日本語のテキストとカタカナ、ひらがな。한국어 문장도 있습니다.",
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * 2).collect();\n    println!(\"{:?}\", v);\n}",
    "def f(x):\n\treturn {'a': [1, 2, 3], \"b\": None}  # comment\n",
    "<div class=\"card\"><a href='https://example.com/?q=1&r=2'>link</a></div>",
    "a  b   c    d\t\te\n\nf\r\ng \n h",
    "    indented\n        more\n\n\n\nend   ",
    "\n\n\n",
    "   ",
    "tabs\t\t\tand\u00a0nbsp\u2003em-space\u200bzero-width",
    "<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more<|im_end|><repo_name>x<file_sep>",
    "<|im_start <|im_end|| <|im_start|",
    "Mixed: ÀÉÎÕÜ àéîõü ÿ ß ﬁ ligature, control\x01\x07chars, \u0000 nul",
    "URL https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct and email a.b@c.de",
    "SHOUTING CAPS AND snake_case and camelCaseWords and kebab-case-words",
    "!!!???...,,,;;;:::---___***+++===",
    "Long word: pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
]

T_DEFAULT = None  # the GGUF's tokenizer.chat_template

# A second, Llama-3-like template: whitespace control, bos/eos variables, filters, loop
# variables, raise_exception. Not the model's; it checks the renderer, not the model.
T_EXTRA = (
    "{{- bos_token }}\n"
    "{%- for message in messages %}\n"
    "    {%- if message['role'] not in ['system', 'user', 'assistant'] %}\n"
    "        {{- raise_exception('unknown role ' ~ message['role']) }}\n"
    "    {%- endif %}\n"
    "    {{- '<|start|>' + message['role'] + '<|sep|>\\n\\n' + message['content'] | trim + '<|end|>' }}\n"
    "    {%- if loop.last and message['role'] == 'assistant' %}{{ eos_token }}{% endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|start|>assistant<|sep|>\\n\\n' }}\n"
    "{%- endif %}\n"
)

TEMPLATE_CASES = [
    (T_DEFAULT, [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi!"}], True),
    (T_DEFAULT, [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi!"}], False),
    (T_DEFAULT, [{"role": "user", "content": "What's 2+2?"}], True),
    (T_DEFAULT, [{"role": "user", "content": "What's 2+2?"}], False),
    (
        T_DEFAULT,
        [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Name a fruit."},
            {"role": "assistant", "content": "An apple."},
            {"role": "user", "content": "Another one, in French?"},
        ],
        True,
    ),
    (
        T_DEFAULT,
        [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi! How can I help?"},
            {"role": "user", "content": "Tell me a joke."},
        ],
        True,
    ),
    (
        T_DEFAULT,
        [{"role": "user", "content": "  {{ not_a_var }} {% if x %}y{% endif %} Café 😀 中文\n\n  "}],
        True,
    ),
    (T_DEFAULT, [{"role": "user", "content": ""}], True),
    (T_DEFAULT, [], True),
    (
        T_EXTRA,
        [
            {"role": "system", "content": "  Be brief.  "},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
        ],
        False,
    ),
    (T_EXTRA, [{"role": "user", "content": "Hi"}], True),
]


# ---------------------------------------------------------------------------------------
# GGUF
# ---------------------------------------------------------------------------------------


class Model:
    def __init__(self, path):
        import gguf
        import numpy as np

        self.np = np
        r = gguf.GGUFReader(str(path))
        self.reader = r
        f = r.fields

        def val(key):
            return f[key].contents()

        self.meta = {k: val(k) for k in f if not k.startswith("GGUF.")}
        assert val("general.architecture") == "llama"
        self.n_layer = int(val("llama.block_count"))
        self.n_embd = int(val("llama.embedding_length"))
        self.n_head = int(val("llama.attention.head_count"))
        self.n_head_kv = int(val("llama.attention.head_count_kv"))
        self.head_dim = self.n_embd // self.n_head
        self.n_rot = int(val("llama.rope.dimension_count"))
        self.rope_base = float(val("llama.rope.freq_base"))
        self.eps = float(val("llama.attention.layer_norm_rms_epsilon"))
        self.tensors = {t.name: t for t in r.tensors}
        self._check_dequant()
        t0 = time.time()
        self.w = {name: self._load(name) for name in self.tensors}
        self.load_s = time.time() - t0

    def _load(self, name):
        import gguf

        np = self.np
        t = self.tensors[name]
        if t.tensor_type == gguf.GGMLQuantizationType.F32:
            a = np.asarray(t.data, dtype=np.float32)
        else:
            a = gguf.quants.dequantize(t.data, t.tensor_type)
        # GGUF dims are ne0 first; numpy wants (rows, cols) = reversed.
        shape = tuple(int(d) for d in reversed(t.shape))
        return np.asarray(a, dtype=np.float64).reshape(shape)

    def _check_dequant(self):
        """Decode the first blocks of a Q4_1 and the Q8_0 tensor by hand, compare."""
        import gguf

        np = self.np
        for name in ["blk.0.attn_q.weight", "token_embd.weight"]:
            t = self.tensors[name]
            raw = np.asarray(t.data).reshape(-1).view(np.uint8)
            got = gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1)[:64]
            mine = []
            if t.tensor_type == gguf.GGMLQuantizationType.Q4_1:
                for b in range(2):  # 20-byte blocks: d f16, m f16, 16 bytes of nibbles
                    blk = raw[b * 20:(b + 1) * 20]
                    d = float(blk[0:2].view(np.float16)[0])
                    m = float(blk[2:4].view(np.float16)[0])
                    q = blk[4:20]
                    mine += [d * (x & 15) + m for x in q] + [d * (x >> 4) + m for x in q]
            elif t.tensor_type == gguf.GGMLQuantizationType.Q8_0:
                for b in range(2):  # 34-byte blocks: d f16, 32 int8
                    blk = raw[b * 34:(b + 1) * 34]
                    d = float(blk[0:2].view(np.float16)[0])
                    mine += [d * float(x) for x in blk[2:34].view(np.int8)]
            else:
                raise AssertionError(f"{name}: unexpected type {t.tensor_type}")
            assert np.allclose(got, np.array(mine), rtol=0, atol=1e-6), name


# ---------------------------------------------------------------------------------------
# Llama forward, numpy float64
# ---------------------------------------------------------------------------------------


class Llama:
    def __init__(self, m):
        self.m = m
        np = m.np
        self.np = np
        half = m.n_rot // 2
        self.inv_freq = m.rope_base ** (-np.arange(half, dtype=np.float64) * 2.0 / m.n_rot)
        self.reset()

    def reset(self):
        self.k_cache = [[] for _ in range(self.m.n_layer)]
        self.v_cache = [[] for _ in range(self.m.n_layer)]
        self.n_past = 0

    def rms(self, x, w):
        np = self.np
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.m.eps) * w

    def rope(self, x, pos):
        """x: (T, heads, head_dim). llama.cpp mode 0: pairs (2i, 2i+1) rotated by pos*theta_i."""
        np = self.np
        ang = pos[:, None] * self.inv_freq[None, :]  # (T, half)
        c = np.cos(ang)[:, None, :]
        s = np.sin(ang)[:, None, :]
        out = x.copy()
        x0 = x[..., 0:self.m.n_rot:2]
        x1 = x[..., 1:self.m.n_rot:2]
        out[..., 0:self.m.n_rot:2] = x0 * c - x1 * s
        out[..., 1:self.m.n_rot:2] = x0 * s + x1 * c
        return out

    def forward(self, ids):
        """Appends ids to the sequence; returns the logits of the last position."""
        np = self.np
        m = self.m
        w = m.w
        T = len(ids)
        pos = np.arange(self.n_past, self.n_past + T, dtype=np.float64)
        x = w["token_embd.weight"][np.asarray(ids)]  # (T, n_embd)
        hd, nh, nkv = m.head_dim, m.n_head, m.n_head_kv
        group = nh // nkv
        for l in range(m.n_layer):
            p = f"blk.{l}."
            h = self.rms(x, w[p + "attn_norm.weight"])
            q = (h @ w[p + "attn_q.weight"].T).reshape(T, nh, hd)
            k = (h @ w[p + "attn_k.weight"].T).reshape(T, nkv, hd)
            v = (h @ w[p + "attn_v.weight"].T).reshape(T, nkv, hd)
            q = self.rope(q, pos)
            k = self.rope(k, pos)
            self.k_cache[l].append(k)
            self.v_cache[l].append(v)
            K = np.concatenate(self.k_cache[l], axis=0)  # (S, nkv, hd)
            V = np.concatenate(self.v_cache[l], axis=0)
            S = K.shape[0]
            # causal mask: query t (absolute n_past+t) sees keys 0..=n_past+t
            mask = np.arange(S)[None, :] > (self.n_past + np.arange(T))[:, None]
            att_out = np.empty((T, nh, hd))
            for hh in range(nh):
                kv = hh // group
                sc = (q[:, hh, :] @ K[:, kv, :].T) / np.sqrt(hd)
                sc = np.where(mask, -np.inf, sc)
                sc = sc - sc.max(axis=1, keepdims=True)
                pr = np.exp(sc)
                pr /= pr.sum(axis=1, keepdims=True)
                att_out[:, hh, :] = pr @ V[:, kv, :]
            x = x + att_out.reshape(T, nh * hd) @ w[p + "attn_output.weight"].T
            h = self.rms(x, w[p + "ffn_norm.weight"])
            g = h @ w[p + "ffn_gate.weight"].T
            u = h @ w[p + "ffn_up.weight"].T
            x = x + ((g / (1.0 + np.exp(-g))) * u) @ w[p + "ffn_down.weight"].T
        self.n_past += T
        h = self.rms(x[-1:], w["output_norm.weight"])
        out_w = w["output.weight"] if "output.weight" in w else w["token_embd.weight"]
        return (h @ out_w.T)[0]


def greedy(llm, prompt_ids, n, eos):
    np = llm.np
    llm.reset()
    t0 = time.time()
    logits = llm.forward(prompt_ids)
    t_prompt = time.time() - t0
    out, margins = [], []
    t0 = time.time()
    for i in range(n):
        top2 = np.argsort(logits)[-2:]
        nxt = int(np.argmax(logits))
        margins.append(round(float(logits[top2[1]] - logits[top2[0]]), 4))
        out.append(nxt)
        if nxt == eos or i == n - 1:
            break
        logits = llm.forward([nxt])
    t_decode = time.time() - t0
    return out, margins, t_prompt, t_decode


# ---------------------------------------------------------------------------------------
# Tokenizer: pure-Python byte-level BPE (implementation 1)
# ---------------------------------------------------------------------------------------


def byte_to_unicode():
    """GPT-2's reversible map of the 256 bytes to printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table = {}
    extra = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


# llama.cpp's `smollm` pre-tokenizer: every \p{N} alone, then the GPT-2 pattern.
DIGIT_SPLIT = r"\p{N}"
GPT2_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


class PyBpe:
    def __init__(self, meta):
        import regex

        self.tokens = list(meta["tokenizer.ggml.tokens"])
        self.types = list(meta["tokenizer.ggml.token_type"])
        self.vocab = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {}
        for r, m in enumerate(meta["tokenizer.ggml.merges"]):
            a, b = m.split(" ")
            self.ranks[(a, b)] = r
        self.b2u = byte_to_unicode()
        self.u2b = {u: b for b, u in self.b2u.items()}
        # control (3) and user-defined (4) tokens are matched verbatim in the input
        self.special = [t for t, ty in zip(self.tokens, self.types) if ty in (3, 4)]
        alts = sorted(self.special, key=len, reverse=True)  # leftmost-longest
        self.special_re = regex.compile("|".join(regex.escape(s) for s in alts)) if alts else None
        self.digit_re = regex.compile(DIGIT_SPLIT)
        self.split_re = regex.compile(GPT2_SPLIT)
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = None, None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = (parts[i], parts[i + 1]), r
            if best is None:
                break
            merged, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids

    def pretokenize(self, text):
        pieces = []
        last = 0
        for m in self.digit_re.finditer(text):
            if m.start() > last:
                pieces.append(text[last:m.start()])
            pieces.append(m.group())
            last = m.end()
        if last < len(text):
            pieces.append(text[last:])
        out = []
        for p in pieces:
            out.extend(self.split_re.findall(p))
        return out

    def encode(self, text):
        ids = []
        segments = []
        last = 0
        if self.special_re is not None:
            for m in self.special_re.finditer(text):
                segments.append((False, text[last:m.start()]))
                segments.append((True, m.group()))
                last = m.end()
        segments.append((False, text[last:]))
        for is_special, seg in segments:
            if is_special:
                ids.append(self.vocab[seg])
                continue
            for piece in self.pretokenize(seg):
                word = "".join(self.b2u[b] for b in piece.encode("utf-8"))
                ids.extend(self.bpe(word))
        return ids

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            t = self.tokens[i]
            if self.types[i] in (3, 4):
                data += t.encode("utf-8")
            else:
                data += bytes(self.u2b[c] for c in t)
        return data.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------------------
# Tokenizer: the Python `tokenizers` package (implementation 2, cross-check only)
# ---------------------------------------------------------------------------------------


def hf_tokenizer(meta):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    tokens = list(meta["tokenizer.ggml.tokens"])
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = [tuple(m.split(" ")) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(DIGIT_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    types = list(meta["tokenizer.ggml.token_type"])
    tok.add_special_tokens([AddedToken(t, normalized=False) for t, ty in zip(tokens, types) if ty == 3])
    return tok


# ---------------------------------------------------------------------------------------
# Chat template (jinja2, as transformers renders chat templates)
# ---------------------------------------------------------------------------------------


def render_template(source, messages, add_generation_prompt, bos, eos):
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(source).render(
        messages=messages, add_generation_prompt=add_generation_prompt, bos_token=bos, eos_token=eos
    )


# ---------------------------------------------------------------------------------------


def build(model_path):
    timings = {}
    t0 = time.time()
    m = Model(model_path)
    timings["load_dequant_s"] = round(time.time() - t0, 2)
    meta = m.meta
    template = meta["tokenizer.chat_template"]
    tokens = meta["tokenizer.ggml.tokens"]
    bos = tokens[int(meta["tokenizer.ggml.bos_token_id"])]
    eos_id = int(meta["tokenizer.ggml.eos_token_id"])
    eos = tokens[eos_id]

    t0 = time.time()
    bpe = PyBpe(meta)
    hf = hf_tokenizer(meta)
    tok_rows = []
    for text in TOKENIZER_CORPUS:
        ids = bpe.encode(text)
        hf_ids = hf.encode(text, add_special_tokens=False).ids
        assert ids == hf_ids, f"tokenizers disagree on {text!r}:\n{ids}\n{hf_ids}"
        assert bpe.decode(ids) == text, f"round trip {text!r}"
        tok_rows.append({"text": text, "ids": ids})
    timings["tokenizer_corpus_s"] = round(time.time() - t0, 2)

    templates = []
    for source, messages, agp in TEMPLATE_CASES:
        row = {"messages": messages, "add_generation_prompt": agp}
        if source is not None:
            row["template"] = source
        row["rendered"] = render_template(source or template, messages, agp, bos, eos)
        templates.append(row)

    llm = Llama(m)
    prompts = []
    for p in PROMPTS:
        if "raw" in p:
            rendered = p["raw"]
        else:
            rendered = render_template(template, p["messages"], True, bos, eos)
        ids = bpe.encode(rendered)
        assert ids == hf.encode(rendered, add_special_tokens=False).ids
        out, margins, tp, td = greedy(llm, ids, N_GREEDY, eos_id)
        text = bpe.decode(out)
        print(f"[{len(ids)} prompt tokens, {tp:.1f}s; {len(out)} tokens, {td:.1f}s] {rendered!r}\n  -> {text!r}",
              file=sys.stderr)
        row = dict(p)
        row.update(
            rendered_prompt=rendered,
            prompt_ids=ids,
            greedy_ids=out,
            greedy_text=text,
            top2_margins=margins,
        )
        prompts.append(row)
        timings.setdefault("prompt_forward_s", []).append(round(tp, 2))
        timings.setdefault("decode_s", []).append(round(td, 2))

    return {
        "model": MODEL_FILE,
        "about": "tests/reference/smollm2_reference.py: numpy float64 Llama over gguf-dequantized "
        "weights, pure-Python byte-level BPE (checked against the `tokenizers` package), jinja2 "
        "templates. top2_margins: logit gap between the best and second-best token at each step.",
        "bos_token": bos,
        "eos_token": eos,
        "prompts": prompts,
        "tokenizer": tok_rows,
        "templates": templates,
    }, timings


def main():
    ensure_venv()
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(models_dir() / MODEL_FILE))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--check", action="store_true", help="recompute and compare with --out")
    args = ap.parse_args()
    t0 = time.time()
    fixture, timings = build(args.model)
    timings["total_s"] = round(time.time() - t0, 2)
    print("timings:", json.dumps(timings), file=sys.stderr)
    if args.check:
        old = json.loads(Path(args.out).read_text())
        for key in ["prompts", "tokenizer", "templates"]:
            if old[key] != fixture[key]:
                for a, b in zip(old[key], fixture[key]):
                    if a != b:
                        print(f"MISMATCH in {key}:\n  fixture: {a}\n  now:     {b}", file=sys.stderr)
                sys.exit(1)
        print("fixture matches", file=sys.stderr)
        return
    # compact: one entry per line
    lines = ["{"]
    keys = list(fixture)
    for i, k in enumerate(keys):
        v = fixture[k]
        comma = "," if i < len(keys) - 1 else ""
        if isinstance(v, list):
            lines.append(f"  {json.dumps(k)}: [")
            for j, e in enumerate(v):
                lines.append("    " + json.dumps(e, ensure_ascii=False) + ("," if j < len(v) - 1 else ""))
            lines.append("  ]" + comma)
        else:
            lines.append(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}{comma}")
    lines.append("}")
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
