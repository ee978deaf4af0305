#!/usr/bin/env python3
"""Python reference for `distill bench vit`: ViT forward images/s on the CPU with PyTorch + timm.

For each --model (a JSON object of the Swift ViTConfig: embed_dim, depth, num_heads, reg_tokens, mlp_layer
"swiglu-packed" | "gelu", mlp_hidden_features, layer_scale, qkv_bias, norm_eps, img_size, patch_size), builds
timm's VisionTransformer with that architecture (no_embed_class, registers, LayerScale, SwiGLUPacked + SiLU or
Mlp + GELU, num_classes=0, global_pool=""), random weights (timm's init), float32, eval mode, then under
torch.inference_mode runs forward_features on a random [batch, 3, img_size, img_size] input: one untimed
warm-up pass, then timed passes until --min-seconds (at least --min-passes). torch.set_num_threads(--threads).

Prints JSON: {"python", "torch", "timm", "threads", "models": [{"name", "parameters", "passes", "wall_s", "cpu_s",
"images_per_s", "images_per_cpu_s", "rounds_images_per_s"}]} (cpu_s: process user + system seconds of the timed
passes, time.process_time).

Usage: vit_reference.py --batch 32 --threads 2 --min-seconds 10 --model '{"name": "h0-mini", ...}' ...
"""
import argparse
import json
import platform
import time

import timm
import torch
from timm.layers import Mlp, SwiGLUPacked
from timm.models.vision_transformer import VisionTransformer


def build(config: dict) -> VisionTransformer:
    dim, hidden = config["embed_dim"], config["mlp_hidden_features"]
    swiglu = config["mlp_layer"] == "swiglu-packed"
    model = VisionTransformer(
        img_size=config["img_size"], patch_size=config["patch_size"], embed_dim=dim, depth=config["depth"],
        num_heads=config["num_heads"], mlp_ratio=(hidden + 0.5) / dim, qkv_bias=config["qkv_bias"],
        init_values=1e-5 if config["layer_scale"] else None, reg_tokens=config["reg_tokens"], no_embed_class=True,
        num_classes=0, global_pool="", mlp_layer=SwiGLUPacked if swiglu else Mlp,
        act_layer=torch.nn.SiLU if swiglu else torch.nn.GELU,
    )
    assert model.blocks[0].mlp.fc1.weight.shape == (hidden, dim)
    return model.eval()


def measure(config: dict, batch: int, min_seconds: float, min_passes: int) -> dict:
    model = build(config)
    size = config["img_size"]
    x = torch.randn(batch, 3, size, size)
    with torch.inference_mode():
        model.forward_features(x)
        passes, start, cpu_start = 0, time.perf_counter(), time.process_time()
        while True:
            model.forward_features(x)
            passes += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds and passes >= min_passes:
                break
        cpu = time.process_time() - cpu_start
    images = passes * batch
    return {"name": config["name"], "parameters": sum(p.numel() for p in model.parameters()), "passes": passes,
            "wall_s": elapsed, "cpu_s": cpu, "images_per_s": images / elapsed, "images_per_cpu_s": images / cpu,
            "rounds_images_per_s": [images / elapsed]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--min-seconds", type=float, default=10.0)
    parser.add_argument("--min-passes", type=int, default=2)
    parser.add_argument("--model", action="append", required=True, help="a ViT config as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = [measure(json.loads(text), args.batch, args.min_seconds, args.min_passes) for text in args.model]
    print(json.dumps({"python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
                      "threads": torch.get_num_threads(), "models": models}))


if __name__ == "__main__":
    main()
