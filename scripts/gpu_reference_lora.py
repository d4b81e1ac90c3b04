"""Reference LoRA training step in plain PyTorch, for the trainer's GPU speed ratio.

Same shapes and the same work per step as `cargo run -p trainer --example speed -- --random
llama-3.2-3b`: a randomly initialised Llama-3.2-3B-shaped decoder (28 layers, d=3072, 24/8 heads,
SwiGLU 8192, vocab 128256, tied embeddings), frozen bf16 base weights stored as NF4 (block 64,
dequantized per forward, exactly like the Rust trainer; --no-quant keeps them bf16), LoRA r=16,
alpha=32 on q,k,v,o,gate,up,down, SDPA causal attention with GQA, loss on every position, AdamW.
Needs only torch (the GPU machine's 2.11); no model hub, no peft/transformers.

    python3 scripts/gpu_reference_lora.py --seq 1024 --batch 4 --steps 50
"""

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

NF4 = torch.tensor([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                    0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
                    0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                    0.7229568362236023, 1.0])


class Nf4Weight:
    def __init__(self, w):
        blocks = w.float().reshape(-1, 64)
        absmax = blocks.abs().amax(1, keepdim=True).clamp_min(1e-12)
        mids = (NF4[1:] + NF4[:-1]).to(w.device) / 2
        idx = torch.bucketize(blocks / absmax, mids).to(torch.uint8).reshape(-1, 2)
        self.packed = idx[:, 0] * 16 + idx[:, 1]
        self.absmax = absmax
        self.shape = w.shape
        self.levels = NF4.to(w.device)

    def dequantize(self, dtype):
        idx = torch.stack([self.packed // 16, self.packed % 16], 1).reshape(-1).long()
        return (self.levels[idx].reshape(-1, 64) * self.absmax).reshape(self.shape).to(dtype)


class LoraLinear:
    def __init__(self, out_f, in_f, r, alpha, quant, device, dtype):
        w = torch.randn(out_f, in_f, device=device, dtype=dtype) * 0.02
        self.base = Nf4Weight(w) if quant else w
        self.quant = quant
        bound = 1 / math.sqrt(in_f)
        self.a = torch.empty(r, in_f, device=device).uniform_(-bound, bound).requires_grad_()
        self.b = torch.zeros(out_f, r, device=device, requires_grad=True)
        self.scale = alpha / r

    def __call__(self, x):
        w = self.base.dequantize(x.dtype) if self.quant else self.base
        h = F.dropout(x, 0.05, True)
        return x @ w.t() + (h @ self.a.to(x.dtype).t() @ self.b.to(x.dtype).t()) * self.scale


def rms(x, w, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * w).to(x.dtype)


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., h:], x[..., :h]], -1) * sin


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--no-quant", action="store_true")
    args = p.parse_args()
    dev, dt = "cuda", torch.bfloat16
    torch.manual_seed(0)
    V, D, I, L, H, KV, HD = 128256, 3072, 8192, 28, 24, 8, 128
    quant = not args.no_quant
    embed = torch.randn(V, D, device=dev, dtype=dt) * 0.02
    layers = []
    for _ in range(L):
        mk = lambda o, i: LoraLinear(o, i, 16, 32.0, quant, dev, dt)
        layers.append(dict(q=mk(H * HD, D), k=mk(KV * HD, D), v=mk(KV * HD, D), o=mk(D, H * HD),
                           g=mk(I, D), u=mk(I, D), d=mk(D, I),
                           n1=torch.ones(D, device=dev), n2=torch.ones(D, device=dev)))
    norm = torch.ones(D, device=dev)
    params = [t for l in layers for k in "qkvogud" for t in (l[k].a, l[k].b)]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    # Llama 3 rope scaling is applied to the frequencies once; it does not change the cost.
    inv = 1.0 / (500000.0 ** (torch.arange(0, HD, 2, device=dev).float() / HD))
    pos = torch.arange(args.seq, device=dev).float()
    f = torch.outer(pos, inv)
    emb = torch.cat([f, f], -1)
    cos, sin = emb.cos().to(dt)[None, None], emb.sin().to(dt)[None, None]
    times = []
    torch.cuda.reset_peak_memory_stats()
    for step in range(args.warmup + args.steps):
        ids = torch.randint(V, (args.batch, args.seq + 1), device=dev)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        x = embed[ids[:, :-1]]
        B, T = args.batch, args.seq
        for l in layers:
            h = rms(x, l["n1"])
            q = rope(l["q"](h).view(B, T, H, HD).transpose(1, 2), cos, sin)
            k = rope(l["k"](h).view(B, T, KV, HD).transpose(1, 2), cos, sin)
            v = l["v"](h).view(B, T, KV, HD).transpose(1, 2)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            x = x + l["o"](a.transpose(1, 2).reshape(B, T, H * HD))
            h = rms(x, l["n2"])
            x = x + l["d"](F.silu(l["g"](h)) * l["u"](h))
        x = rms(x, norm)
        logits = (x.reshape(-1, D) @ embed.t()).float()
        loss = F.cross_entropy(logits, ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - t0)
    mean = sum(times) / len(times)
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "quant": quant, "seq": args.seq,
                      "batch": args.batch, "steps": len(times), "seconds_per_step": round(mean, 4),
                      "tokens_per_second": round(args.batch * args.seq / mean, 1),
                      "peak_allocated_mb": round(torch.cuda.max_memory_allocated() / 1e6)}))


if __name__ == "__main__":
    main()
