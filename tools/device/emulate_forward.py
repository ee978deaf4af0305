"""Emulates the CUDA ViT forward (Sources/CUDA/CUDAViTForward.swift) on the CPU in float64, kernel by kernel with the
kernels' own index arithmetic (im2col, assemble_tokens, qkv_split, merge_heads, bias_swiglu / bias_gelu, the fused
residual + LayerNorm tail) and the cuBLASLt GEMMs' column-major operand layouts (MatmulShape), and compares the
result with timm's committed 98 px outputs (Tests/Fixtures/vit, pos-embed grids from the same fixture).

No GPU: it checks the order of operations and the indexing, not bf16 rounding or the device code itself.
Needs numpy, safetensors, pyyaml.   python3 tools/device/emulate_forward.py   (from the repository root)
"""
import math
import sys

import numpy as np
import yaml
from safetensors.numpy import load_file


def gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, ldd, batch=1, stride_a=0, stride_b=0, stride_d=0):
    """cuBLASLt's D = op(A)·op(B), column-major, strided batches; flat float64 buffers."""
    d = np.full(batch * stride_d if batch > 1 else ldd * n, np.nan)
    for t in range(batch):
        i = np.arange(m)[:, None, None]
        j = np.arange(n)[None, :, None]
        p = np.arange(k)[None, None, :]
        av = a[t * stride_a + (p + i * lda if trans_a else i + p * lda)]
        bv = b[t * stride_b + (j + p * ldb if trans_b else p + j * ldb)]
        d[t * stride_d + (np.arange(m)[:, None] + np.arange(n)[None, :] * ldd)] = (av * bv).sum(-1)
    return d


def linear(x, w, bias=None):
    rows, fin = x.shape
    fout = w.shape[0]
    y = gemm(True, False, fout, rows, fin, w.ravel(), fin, x.ravel(), fin, fout).reshape(rows, fout)
    return y if bias is None else y + bias


def emulate(name, mode):
    w = load_file(f"Tests/Fixtures/vit/{name}.safetensors")
    out = load_file(f"Tests/Fixtures/vit/{name}-outputs.safetensors")
    cfg = yaml.safe_load(open(f"configs/models/{name}.yaml"))
    d, p, heads, reg, depth = cfg["embed_dim"], cfg["patch_size"], cfg["num_heads"], cfg["reg_tokens"], cfg["depth"]
    hd, eps = d // heads, cfg["norm_eps"]
    images = load_file("Tests/Fixtures/vit/vit-tiny-test-outputs.safetensors")["input98"].astype(np.float64)
    batch, _, height, width = images.shape
    gw = width // p
    patches = gw * (height // p)
    length = 1 + reg + patches
    k = 3 * p * p
    kpad = (k + 7) // 8 * 8
    rows = batch * length

    columns = np.zeros((batch * patches, kpad))  # im2col_f32
    for row in range(batch * patches):
        b, n = divmod(row, patches)
        y0, x0 = (n // gw) * p, (n % gw) * p
        for column in range(k):
            c, ky, kx = column // (p * p), (column // p) % p, column % p
            columns[row, column] = images[b, c, y0 + ky, x0 + kx]
    weight = np.zeros((d, kpad))
    weight[:, :k] = w["patch_embed.proj.weight"].reshape(d, k)
    tokens = linear(columns, weight, w["patch_embed.proj.bias"])
    positions = out[f"pos_{mode}"].reshape(patches, d)
    residual = np.zeros((rows, d))  # assemble_tokens
    for row in range(rows):
        b, t = divmod(row, length)
        if t == 0:
            residual[row] = w["cls_token"].reshape(d)
        elif t <= reg:
            residual[row] = w["reg_token"].reshape(reg, d)[t - 1]
        else:
            residual[row] = tokens[b * patches + t - 1 - reg] + positions[t - 1 - reg]

    def layer_norm(x, prefix):
        mean = x.mean(-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(variance + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]

    normed = layer_norm(residual, "blocks.0.norm1")
    pairs, padded = batch * heads, (length + 7) // 8 * 8
    for block in range(depth):
        pre = f"blocks.{block}."
        qkv = linear(normed, w[pre + "attn.qkv.weight"], w.get(pre + "attn.qkv.bias"))
        split = np.zeros((3, batch, heads, length, hd))  # qkv_split
        for row in range(rows):
            b, t = divmod(row, length)
            c = np.arange(3 * d)
            s, r = c // d, c % d
            split[s, b, r // hd, t, r % hd] = qkv[row]
        q, kk, v = (split[i].ravel() for i in range(3))
        scores = gemm(True, False, length, length, hd, kk, hd, q, hd, padded, pairs, length * hd, length * hd,
                      length * padded).reshape(pairs, length, padded) / math.sqrt(hd)
        s = scores[:, :, :length]  # softmax_rows
        probabilities = np.zeros((pairs, length, padded))
        e = np.exp(s - s.max(-1, keepdims=True))
        probabilities[:, :, :length] = e / e.sum(-1, keepdims=True)
        attended = gemm(False, False, hd, length, length, v, hd, probabilities.ravel(), padded, hd, pairs, length * hd,
                        length * padded, length * hd).reshape(batch, heads, length, hd)
        merged = attended.transpose(0, 2, 1, 3).reshape(rows, d)  # merge_heads
        branch = linear(merged, w[pre + "attn.proj.weight"], w[pre + "attn.proj.bias"])
        residual = residual + w.get(pre + "ls1.gamma", 1) * branch
        normed = layer_norm(residual, pre + "norm2")
        hidden = linear(normed, w[pre + "mlp.fc1.weight"]) + w[pre + "mlp.fc1.bias"]
        if cfg["mlp_layer"] == "swiglu-packed":  # bias_swiglu: gate = first half
            half = hidden.shape[1] // 2
            gate, value = hidden[:, :half], hidden[:, half:]
            activated = gate / (1 + np.exp(-gate)) * value
        else:  # bias_gelu, exact erf
            activated = 0.5 * hidden * (1 + np.vectorize(math.erf)(hidden / math.sqrt(2)))
        branch = linear(activated, w[pre + "mlp.fc2.weight"], w[pre + "mlp.fc2.bias"])
        residual = residual + w.get(pre + "ls2.gamma", 1) * branch
        normed = layer_norm(residual, "norm" if block == depth - 1 else f"blocks.{block + 1}.norm1")
    reference = out[f"x98_{mode}"]
    error = np.abs(normed.reshape(batch, length, d) - reference).max() / np.abs(reference).max()
    return error


failed = False
for name, mode in [("vit-tiny-test", "dinov2"), ("vit-tiny-test", "timm"), ("vit-tiny-gelu-test", "timm"), ("vit-tiny-gelu-test", "dinov2")]:
    error = emulate(name, mode)
    failed |= not error < 1e-5
    print(f"{name:20} x98_{mode:7} relative error {error:.2e} {'ok' if error < 1e-5 else 'FAIL'}")
sys.exit(1 if failed else 0)
