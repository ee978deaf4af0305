#!/usr/bin/env python3
"""Python reference for `distill bench train`: one DINO + iBOT distillation step on the CPU in PyTorch eager.

The step of distillation-spec.md §4.11, as DINOv2's SSLMetaArch.forward_backward + train loop do it (float32):
  teacher  frozen DINOHeads (no_grad) on random teacher x_norm tokens: CLS [Ng·B, Dt] → [Ng·B, K] (swapped
           crop order), patches [Ng·B·Np, Dt] → [Ng·B·Np, K]; softmax centering with the lagged centre
           (momentum 0.9) at τ_t
  student  timm VisionTransformer (built as tools/bench/vit_reference.py, dynamic_img_size) forward_features on
           Ng·B global crops and Nl·B local crops; DINOv2's DINOHead (Linear/GELU MLP, F.normalize,
           weight_norm last layer) on cat(local CLS, global CLS) and, as a separate iBOT head, on every global patch
  loss     DINO over the Ng·Nl + Ng(Ng−1) (student, teacher) pairs, / terms, iBOT over all patches (weight 1/Np,
           / Ng·B), τ_s 0.1
  update   backward; clip_grad_norm_(3.0) per module (backbone, dino_head, ibot_head); torch.optim.AdamW
           (betas 0.9, 0.999; torch's default implementation for CPU tensors) over DINOv2's parameter groups
           (layer-wise lr decay, patch-embed lr × 0.2, no weight decay on biases/norms/LayerScale, last layer
           apart), fused by (lr, wd multiplier, last layer) as dinov2 fuse_params_groups does; lr, wd set per group
           as apply_optim_scheduler does; zero_grad(set_to_none=True)

Random inputs (any values do for timing), the same every step. Per run: --warmup-steps untimed steps, then timed
steps until --min-seconds (at least --min-steps); torch.set_num_threads(--threads).

Prints JSON: {"python", "torch", "timm", "threads", "optimizer", "parameters" (the student's), "result": {"steps", "wall_s", "cpu_s",
"s_per_step", "images_per_s", "cpu_s_per_step", "peak_rss_mib", "rounds_s_per_step", "first_losses",
"last_losses"}} (cpu_s: process user + system seconds of the timed steps, time.process_time; images = B per step).

Usage: train_reference.py --model '{"name": "vit-tiny-bench", "embed_dim": 192, ...}' [--batch 4] [--threads 1] ...
"""
import argparse
import json
import platform
import resource
import time

import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import Mlp, SwiGLUPacked
from timm.models.vision_transformer import VisionTransformer


def build(config: dict) -> VisionTransformer:
    """timm's VisionTransformer with the architecture of a Swift ViTConfig (as vit_reference.py, in train mode)."""
    dim, hidden = config["embed_dim"], config["mlp_hidden_features"]
    swiglu = config["mlp_layer"] == "swiglu-packed"
    model = VisionTransformer(
        img_size=config["img_size"], patch_size=config["patch_size"], embed_dim=dim, depth=config["depth"],
        num_heads=config["num_heads"], mlp_ratio=(hidden + 0.5) / dim, qkv_bias=config["qkv_bias"],
        init_values=1e-5 if config["layer_scale"] else None, reg_tokens=config["reg_tokens"], no_embed_class=True,
        num_classes=0, global_pool="", dynamic_img_size=True, mlp_layer=SwiGLUPacked if swiglu else Mlp,
        act_layer=torch.nn.SiLU if swiglu else torch.nn.GELU,
    )
    assert model.blocks[0].mlp.fc1.weight.shape == (hidden, dim)
    return model.train()


class DINOHead(nn.Module):
    """DINOv2's DINOHead (no BN, bias, exact GELU): MLP → F.normalize → weight-normalised Linear without bias."""

    def __init__(self, in_dim: int, hidden: int, bottleneck: int, prototypes: int, layers: int):
        super().__init__()
        dims = [in_dim] + [hidden] * (layers - 1) + [bottleneck]
        modules = []
        for i in range(layers):
            modules.append(nn.Linear(dims[i], dims[i + 1]))
            if i < layers - 1:
                modules.append(nn.GELU())
        self.mlp = nn.Sequential(*modules)
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        self.last_layer = nn.utils.weight_norm(nn.Linear(bottleneck, prototypes, bias=False))
        self.last_layer.weight_g.data.fill_(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last_layer(F.normalize(self.mlp(x), dim=-1, p=2, eps=1e-12))


class Centering:
    """DINOv2 softmax_center_teacher / update_center / apply_center_update: the centre lags one step."""

    def __init__(self, prototypes: int, momentum: float = 0.9):
        self.center = torch.zeros(1, prototypes)
        self.momentum = momentum
        self.pending = None

    @torch.no_grad()
    def softmax_center(self, logits: torch.Tensor, temperature: float) -> torch.Tensor:
        if self.pending is not None:
            batch_sum, rows = self.pending
            self.center = self.center * self.momentum + (batch_sum / rows) * (1 - self.momentum)
            self.pending = None
        return F.softmax((logits - self.center) / temperature, dim=-1)

    @torch.no_grad()
    def update(self, logits: torch.Tensor) -> None:
        self.pending = (torch.sum(logits, dim=0, keepdim=True), len(logits))


def lr_decay_rate(name: str, decay: float, depth: int) -> float:
    """dinov2 get_vit_lr_decay_rate for a backbone parameter (timm names; registers are reg_token)."""
    layer_id = depth + 1
    if any(e in name for e in ("pos_embed", "patch_embed", "cls_token", "reg_token")):
        layer_id = 0
    elif name.startswith("blocks."):
        layer_id = int(name.split(".")[1]) + 1
    return decay ** (depth + 1 - layer_id)


def param_groups(modules: dict, depth: int, decay: float, patch_embed_mult: float) -> list:
    """dinov2 get_params_groups_with_decay per module, then fuse_params_groups by (lr, wd multiplier, last layer)."""
    fused = {}
    for module_name, module in modules.items():
        for name, p in module.named_parameters():
            if not p.requires_grad:
                continue
            lr_mult = lr_decay_rate(name, decay, depth) if module_name == "backbone" else 1.0
            if "patch_embed" in name:
                lr_mult *= patch_embed_mult
            wd_mult = 0.0 if name.endswith(".bias") or "norm" in name or "gamma" in name else 1.0
            key = (lr_mult, wd_mult, "last_layer" in name)
            fused.setdefault(key, []).append(p)
    return [{"params": params, "lr_multiplier": k[0], "wd_multiplier": k[1], "is_last_layer": k[2]} for k, params in fused.items()]


def dino_terms(student: list, teacher: list, tau_s: float) -> torch.Tensor:
    """DINOv2 DINOLoss.forward: −Σ over (student chunk, teacher chunk) of the batch mean of Σ_k t·log_softmax(s/τ_s)."""
    total = 0
    for s in student:
        lsm = F.log_softmax(s / tau_s, dim=-1)
        for t in teacher:
            total = total - torch.sum(t * lsm, dim=-1).mean()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the student backbone, a Swift ViTConfig as JSON")
    parser.add_argument("--threads", type=int, default=1)
    for name, default in (("batch", 4), ("global-crops", 2), ("local-crops", 8), ("global-size", 224), ("local-size", 98),
                          ("prototypes", 4096), ("head-hidden", 2048), ("head-layers", 3), ("dino-bottleneck", 384),
                          ("ibot-bottleneck", 256), ("teacher-width", 384), ("warmup-steps", 1), ("min-steps", 3)):
        parser.add_argument("--" + name, type=int, default=default)
    for name, default in (("lr", 0.004 * (4 / 1024) ** 0.5), ("weight-decay", 0.04), ("teacher-temperature", 0.07),
                          ("student-temperature", 0.1), ("clip", 3.0), ("layerwise-decay", 0.9),
                          ("patch-embed-lr-mult", 0.2), ("min-seconds", 10.0)):
        parser.add_argument("--" + name, type=float, default=default)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = json.loads(args.model)

    b, ng, nl, k = args.batch, args.global_crops, args.local_crops, args.prototypes
    head = lambda d, bottleneck: DINOHead(d, args.head_hidden, bottleneck, k, args.head_layers)
    backbone = build(config)
    dim, prefix = config["embed_dim"], 1 + config["reg_tokens"]
    student = {"backbone": backbone, "dino_head": head(dim, args.dino_bottleneck), "ibot_head": head(dim, args.ibot_bottleneck)}
    teacher_dino = head(args.teacher_width, args.dino_bottleneck).requires_grad_(False)
    teacher_ibot = head(args.teacher_width, args.ibot_bottleneck).requires_grad_(False)
    optimizer = torch.optim.AdamW(param_groups(student, config["depth"], args.layerwise_decay, args.patch_embed_lr_mult),
                                  betas=(0.9, 0.999))
    for group in optimizer.param_groups:   # dinov2 apply_optim_scheduler (last-layer lr = lr: not frozen)
        group["weight_decay"] = args.weight_decay * group["wd_multiplier"]
        group["lr"] = args.lr * group["lr_multiplier"]
    dino_centering, ibot_centering = Centering(k), Centering(k)

    patches = (args.global_size // config["patch_size"]) ** 2
    uniform = lambda *shape: torch.rand(*shape) * 4 - 2
    global_crops = uniform(ng * b, 3, args.global_size, args.global_size)
    local_crops = uniform(nl * b, 3, args.local_size, args.local_size)
    teacher_cls = uniform(ng * b, args.teacher_width)
    teacher_patches = uniform(ng * b * patches, args.teacher_width)
    tau_s, tau_t = args.student_temperature, args.teacher_temperature
    terms = ng * nl + ng * (ng - 1)

    def step() -> tuple:
        with torch.no_grad():
            t_cls = teacher_dino(teacher_cls)
            t_cls = torch.cat(list(t_cls.chunk(ng))[::-1])          # ng = 2: DINOv2's swapped crop order
            t_patch = teacher_ibot(teacher_patches)
            p_cls = dino_centering.softmax_center(t_cls, tau_t)
            dino_centering.update(t_cls)
            p_patch = ibot_centering.softmax_center(t_patch, tau_t)
            ibot_centering.update(t_patch)
        x_global = backbone.forward_features(global_crops)
        x_local = backbone.forward_features(local_crops) if nl > 0 else None
        cls = torch.cat([x_local[:, 0], x_global[:, 0]]) if nl > 0 else x_global[:, 0]
        s_dino = student["dino_head"](cls)
        s_local, s_global = s_dino[: nl * b], s_dino[nl * b:]
        s_patch = student["ibot_head"](x_global[:, prefix:].flatten(0, 1))
        p_chunks = list(p_cls.chunk(ng))
        dino_local = dino_terms(list(s_local.chunk(nl)), p_chunks, tau_s) / terms if nl > 0 else torch.zeros(())
        dino_global = dino_terms([s_global], [p_cls], tau_s) * 2 / terms
        per_patch = torch.sum(p_patch * F.log_softmax(s_patch / tau_s, dim=-1), dim=-1)
        ibot = -(per_patch / patches).sum() / (ng * b)
        (dino_local + dino_global + ibot).backward()
        for module in student.values():
            torch.nn.utils.clip_grad_norm_(module.parameters(), args.clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return {"dino_local": dino_local.item(), "dino_global": dino_global.item(), "ibot": ibot.item()}

    for _ in range(args.warmup_steps):
        step()
    steps, first, last = 0, None, None
    start, cpu_start = time.perf_counter(), time.process_time()
    while True:
        last = step()
        first = first or last
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= args.min_seconds and steps >= args.min_steps:
            break
    cpu = time.process_time() - cpu_start
    per_step = elapsed / steps
    group = optimizer.defaults
    implementation = "fused" if group.get("fused") else "foreach" if group.get("foreach") else "single-tensor"
    print(json.dumps({
        "python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
        "threads": torch.get_num_threads(), "optimizer": implementation,
        "parameters": sum(p.numel() for module in student.values() for p in module.parameters()),
        "result": {"steps": steps, "wall_s": elapsed, "cpu_s": cpu, "s_per_step": per_step, "images_per_s": b / per_step,
                   "cpu_s_per_step": cpu / steps, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "rounds_s_per_step": [per_step], "first_losses": first, "last_losses": last},
    }))


if __name__ == "__main__":
    main()
