#!/usr/bin/env python3
"""Writes the committed seed corpora (fuzz/corpus/<target>/seed-*) from the real models and a
real profile, each cut to a few KB: `python3 fuzz/seeds/make_seeds.py MODELS_DIR`.
MODELS_DIR is models/out after `make models`. Only needed to refresh the seeds."""
import json, os, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, '..', 'corpus')
SCALAR = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}
STRING, ARRAY = 8, 9
# ggml type → (block elements, block bytes) for the types the real models use.
BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 8: (32, 34)}


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from('<' + fmt, self.data, self.pos)
        self.pos += struct.calcsize('<' + fmt)
        return v[0]

    def string(self):
        n = self.take('Q')
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s.decode('utf-8')

    def value(self, ty):
        if ty == STRING:
            return self.string()
        if ty == ARRAY:
            et, n = self.take('I'), self.take('Q')
            return (et, [self.value(et) for _ in range(n)])
        return self.take(SCALAR[ty])


def enc_string(s):
    b = s.encode('utf-8')
    return struct.pack('<Q', len(b)) + b


def enc_value(ty, v):
    if ty == STRING:
        return enc_string(v)
    if ty == ARRAY:
        et, items = v
        return struct.pack('<IQ', et, len(items)) + b''.join(enc_value(et, x) for x in items)
    return struct.pack('<' + SCALAR[ty], v)


def read_gguf(path):
    with open(path, 'rb') as f:
        data = f.read(64 << 20)  # metadata and tensor table lie well within this
    r = Reader(data)
    assert r.take('I') == 0x46554747
    version, n_tensors, n_kv = r.take('I'), r.take('Q'), r.take('Q')
    kv = []
    for _ in range(n_kv):
        key, ty = r.string(), None
        ty = r.take('I')
        kv.append((key, ty, r.value(ty)))
    tensors = []
    for _ in range(n_tensors):
        name, nd = r.string(), r.take('I')
        dims = [r.take('Q') for _ in range(nd)]
        tensors.append((name, dims, r.take('I'), r.take('Q')))
    align = next((v for k, _, v in kv if k == 'general.alignment'), 32)
    data_start = (r.pos + align - 1) // align * align
    return version, kv, tensors, align, data_start, path


def shrunk_gguf(src, keep_items, max_tensor_bytes, drop_keys=(), max_tensors=3):
    """The file with every array cut to `keep_items` and only the first `max_tensors` tensors
    of at most `max_tensor_bytes`, with their real data."""
    version, kv, tensors, align, data_start, path = src
    out_kv = []
    for key, ty, v in kv:
        if key in drop_keys:
            continue
        if ty == ARRAY:
            v = (v[0], v[1][:keep_items])
        if ty in SCALAR and key.endswith('_token_id') and v >= keep_items:
            v = keep_items - 1
        out_kv.append((key, ty, v))
    kept, blobs, offset = [], [], 0
    with open(path, 'rb') as f:
        for name, dims, ty, off in tensors:
            elems, nbytes = 1, 0
            for d in dims:
                elems *= d
            be, bb = BLOCKS[ty]
            nbytes = elems // be * bb
            if nbytes > max_tensor_bytes or len(kept) == max_tensors:
                continue
            f.seek(data_start + off)
            blob = f.read(nbytes)
            kept.append((name, dims, ty, offset))
            pad = (-nbytes) % align
            blobs.append(blob + b'\0' * pad)
            offset += nbytes + pad
    head = struct.pack('<IIQQ', 0x46554747, version, len(kept), len(out_kv))
    head += b''.join(enc_string(k) + struct.pack('<I', ty) + enc_value(ty, v) for k, ty, v in out_kv)
    head += b''.join(enc_string(n) + struct.pack('<I', len(d)) + b''.join(struct.pack('<Q', x) for x in d)
                     + struct.pack('<IQ', ty, off) for n, d, ty, off in kept)
    head += b'\0' * ((-len(head)) % align)
    return head + b''.join(blobs)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode('utf-8'))


def meta(src, key):
    return next(v for k, _, v in src[1] if k == key)


def vocab_input(header, tokens, types, merges, text):
    """The tokenizer targets' layout (fuzz_targets/common/vocab_input.rs)."""
    lines = [(bytes([t]) if t != 1 else b'') + tok.encode('utf-8') for tok, t in zip(tokens, types)
             if '\n' not in tok and '\0' not in tok]
    return (bytes(header) + b'\0' + b'\n'.join(lines) + b'\0' + '\n'.join(merges).encode('utf-8')
            + b'\0' + text.encode('utf-8'))


def main(models):
    minilm = read_gguf(os.path.join(models, 'minilm-l6-v2.q8_0.gguf'))
    smol = read_gguf(os.path.join(models, 'smollm2-135m-instruct.q4_1.gguf'))
    write('gguf', 'minilm-ggml-vocab.gguf', shrunk_gguf(minilm, 120, 2048, drop_keys={'tokenizer.huggingface.json'}))
    write('gguf', 'smollm2.gguf', shrunk_gguf(smol, 120, 2400))
    with open(smol[5], 'rb') as f:
        write('gguf', 'smollm2-truncated', f.read(2048))

    # The real SmolLM2 vocabulary's start (the bytes, specials) and first merges.
    toks, types, merges = meta(smol, 'tokenizer.ggml.tokens')[1], meta(smol, 'tokenizer.ggml.token_type')[1], meta(smol, 'tokenizer.ggml.merges')[1]
    write('bpe_tokenizer', 'smollm2', vocab_input([1, 1, 2, 0xff, 0], toks[:400], types[:400], merges[:200],
                                                   '<|im_start|>user\nHello, wörld! 12345 \u00e9\u20ac\U0001F600<|im_end|>'))
    write('bpe_tokenizer', 'gpt2-no-types', vocab_input([0, 0xff, 0xff, 0xff, 2], toks[:300], types[:300], merges[:100], 'the theory of them'))
    mtoks, mtypes = meta(minilm, 'tokenizer.ggml.tokens')[1], meta(minilm, 'tokenizer.ggml.token_type')[1]
    hf = json.loads(meta(minilm, 'tokenizer.huggingface.json'))
    # The real vocabulary's specials and a few thousand words, in llama.cpp's spelling.
    pick = list(range(0, 110)) + list(range(1996, 2300))
    ids = {t: i for i, t in enumerate(mtoks)}
    hdr = lambda mode: [mode, pick.index(ids['[UNK]']), pick.index(ids['[CLS]']), pick.index(ids['[SEP]']), 0b100011, 64, 25]
    text = 'Hello [SEP] World! The thé of 北京, 123 running runner'
    write('bert_tokenizer', 'minilm-ggml', vocab_input(hdr(0), [mtoks[i] for i in pick], [mtypes[i] for i in pick], [], text))
    vocab = sorted(hf['model']['vocab'].items(), key=lambda kv: kv[1])
    wp = [t for t, _ in vocab]
    write('bert_tokenizer', 'minilm-json', vocab_input(hdr(1), [wp[i] for i in pick], [3 if wp[i].startswith('[') else 1 for i in pick], [], text))
    small = dict(hf)
    small['model'] = dict(hf['model'], vocab={t: i for t, i in vocab[:150]})
    small['added_tokens'] = [a for a in hf['added_tokens'] if a['id'] < 150]
    write('bert_tokenizer', 'minilm-tokenizer-json', bytes([2, 0, 0, 0, 0, 64]) + b'\0\0\0' + json.dumps(small).encode('utf-8'))

    write('chat_template', 'smollm2', meta(smol, 'tokenizer.chat_template'))
    write('chat_template', 'chatml-with-message', "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] | trim + '<|im_end|>\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}\0Tell me {{ about }} {% raw %}jinja{% endraw %}")
    write('chat_template', 'namespace-loop', "{% set ns = namespace(n=0, s='') %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.s = m.content %}{% else %}{% set ns.n = ns.n + 1 %}{% endif %}{% endfor %}{{ bos_token }}{{ ns.s|upper }}{{ ns.n }}{% for i in range(3) %}{{ loop.index }}{{ messages[-1]['content'][:5].strip().startswith('W') }}{% endfor %}{% if not add_generation_prompt %}{{ raise_exception('no prompt') }}{% endif %}{{ eos_token }}")


if __name__ == '__main__':
    main(sys.argv[1])
