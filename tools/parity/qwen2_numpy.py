#!/usr/bin/env python3
"""Independent Qwen2 forward pass in numpy (float64), written from transformers' modeling_qwen2.py formulas,
to cross-check Shardline's reference backend on a demo checkpoint.

Usage: qwen2_numpy.py MODEL_DIR TOKEN_IDS(comma separated) N_GREEDY
Prints the greedy continuation (N token ids, comma separated) and the top-5 logits of the last prompt position.
Needs only numpy. Reads safetensors (single file or sharded index) itself.
"""
import json, struct, sys, os
import numpy as np


def load_tensors(d):
    files = ["model.safetensors"] if os.path.exists(os.path.join(d, "model.safetensors")) else \
        sorted(set(json.load(open(os.path.join(d, "model.safetensors.index.json")))["weight_map"].values()))
    out = {}
    for f in files:
        raw = open(os.path.join(d, f), "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        base = 8 + n
        for name, e in header.items():
            if name == "__metadata__":
                continue
            b, end = e["data_offsets"]
            buf = raw[base + b: base + end]
            if e["dtype"] == "BF16":
                a = np.frombuffer(buf, dtype=np.uint16).astype(np.uint32) << 16
                a = a.view(np.float32)
            elif e["dtype"] == "F32":
                a = np.frombuffer(buf, dtype=np.float32)
            else:
                a = np.frombuffer(buf, dtype=np.float16).astype(np.float32)
            out[name] = a.reshape(e["shape"]).astype(np.float64)
    return out


def rms(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def forward(W, c, ids):
    H, nh, nkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd = H // nh
    eps = c["rms_norm_eps"]
    T = len(ids)
    inv = 1.0 / (c["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    ang = np.arange(T)[:, None] * inv[None, :]
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(x):  # x [T, heads, hd], rotate-half
        a, b = x[..., :hd // 2], x[..., hd // 2:]
        cc, ss = cos[:, None, :], sin[:, None, :]
        return np.concatenate([a * cc - b * ss, b * cc + a * ss], -1)

    h = W["model.embed_tokens.weight"][ids]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms(h, W[p + "input_layernorm.weight"], eps)
        q = (a @ W[p + "self_attn.q_proj.weight"].T + W[p + "self_attn.q_proj.bias"]).reshape(T, nh, hd)
        k = (a @ W[p + "self_attn.k_proj.weight"].T + W[p + "self_attn.k_proj.bias"]).reshape(T, nkv, hd)
        v = (a @ W[p + "self_attn.v_proj.weight"].T + W[p + "self_attn.v_proj.bias"]).reshape(T, nkv, hd)
        q, k = rope(q), rope(k)
        o = np.zeros((T, nh, hd))
        for j in range(nh):
            kv = j // (nh // nkv)
            s = q[:, j, :] @ k[:, kv, :].T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            o[:, j, :] = s @ v[:, kv, :]
        h = h + o.reshape(T, H) @ W[p + "self_attn.o_proj.weight"].T
        m = rms(h, W[p + "post_attention_layernorm.weight"], eps)
        g = m @ W[p + "mlp.gate_proj.weight"].T
        u = m @ W[p + "mlp.up_proj.weight"].T
        h = h + (g / (1 + np.exp(-g)) * u) @ W[p + "mlp.down_proj.weight"].T
    h = rms(h[-1:], W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if c.get("tie_word_embeddings") else W["lm_head.weight"]
    return (h @ head.T)[0]


def main():
    d, ids, n = sys.argv[1], [int(x) for x in sys.argv[2].split(",")], int(sys.argv[3])
    c = json.load(open(os.path.join(d, "config.json")))
    W = load_tensors(d)
    first = forward(W, c, ids)
    top = np.argsort(-first)[:5]
    out = []
    for _ in range(n):
        logits = forward(W, c, ids + out)
        out.append(int(np.argmax(logits)))
    print(",".join(map(str, out)))
    print("top5", ",".join(f"{t}:{first[t]:.6f}" for t in top))


if __name__ == "__main__":
    main()
