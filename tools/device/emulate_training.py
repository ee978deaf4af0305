"""Emulates the CUDA training kernels of part 2 (Sources/CUDA/CUDAKernelSource+Loss.swift, +Optimizer.swift) on the
CPU with NumPy, kernel by kernel, with the kernels' own chunking, indexing, precision and reduction order, and
compares the results with the committed CPU-objective fixtures (Tests/Fixtures/objective, made by
tools/fixtures/make_objective_fixtures.py from PyTorch):

  loss path   center_update + center_accumulate_projected (f32 sums over 64-row blocks into f64, lagged update;
              the fixtures hold logits, not the head's y and W, so the sums are of T = T·Iᵀ: y = T, W = I),
              centered_softmax_rows, cross_entropy_rows (f64 row sums, bf16 gradient) over LogitChunkPlan chunks
              with CrossEntropyPairing's teacher crops, and Sinkhorn-Knopp in its f64 log form:
              losses, gradients, centres, Sinkhorn probabilities of 3 steps + the Sinkhorn step
  optimiser   OptimizerChunkPlan, gradient_square_partials, clip_scales, adamw_step (f32, the CPU's order, no FMA):
              clipped gradients, norms and parameters of 3 AdamW steps
  EMA         ema_update (fma(student, 1 − m, ema·m)) against torch._foreach_mul_ / _foreach_add_(alpha)

No GPU: it checks the plans, the order of operations and the precision choices (including the bf16 rounding of the
loss gradient), not the device code itself. Needs numpy, safetensors and torch (for the fixture script's parameter
groups and schedules, and the EMA reference):

    /work/pyenv/bin/python tools/device/emulate_training.py      (from the repository root)
"""
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import make_objective_fixtures as fixtures  # noqa: E402  (B, NG, NL, NP, K, TAU_S, student_groups, build_schedulers)

F32 = np.float32
FAILURES = []


def check(name, error, tolerance):
    ok = error <= tolerance
    print(f"{'ok  ' if ok else 'FAIL'} {name:<52} {error:.3e}  (<= {tolerance:.0e})")
    if not ok:
        FAILURES.append(name)


def relative(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def bf16(x):
    """f32 → bf16 → f32, round to nearest even (the prelude's f32_to_bf16)."""
    bits = np.asarray(x, F32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return (bits.astype(np.uint32) << 16).view(F32)


# --- plans (Sources/CUDA/LogitChunkPlan.swift, CrossEntropyPairing.swift, OptimizerChunkPlan.swift) -------------

def logit_chunks(rows, prototypes, budget_bytes):
    per_chunk = max(1, min(max(rows, 1), budget_bytes // (prototypes * 10)))
    return [range(s, min(s + per_chunk, rows)) for s in range(0, rows, per_chunk)]


def optimizer_chunks(ranges, modules, chunk_elements):
    """ranges: (start, end, group, module) → chunks (start, count, group, module), module offsets."""
    chunks, offsets = [], [0]
    for module in range(modules):
        for start, end, group, m in ranges:
            if m != module:
                continue
            while start < end:
                count = min(chunk_elements, end - start)
                chunks.append((start, count, group, module))
                start += count
        offsets.append(len(chunks))
    return chunks, offsets


# --- loss.cu ----------------------------------------------------------------------------------------------------

class DeviceCentering:
    """center (f32 [K]), pending (f64 [K]) and the host's pending row count, as loss.cu + the step keep them."""

    def __init__(self, k):
        self.center = np.zeros(k, F32)
        self.pending = np.zeros(k, np.float64)
        self.rows = 0

    def update(self):                                            # center_update
        if self.rows == 0:
            return
        mean = (self.pending / float(self.rows)).astype(F32)
        self.center = (self.center * F32(0.9)) + (mean * F32(1 - 0.9))
        self.pending[:] = 0
        self.rows = 0

    def accumulate(self, t):                                     # center_accumulate_projected (y = t, W = I)
        sums = np.zeros(t.shape[1], np.float64)
        for start in range(0, t.shape[0], 64):                   # column_partial_sums: f32 parts of 64 rows
            partial = np.zeros(t.shape[1], F32)
            for r in range(start, min(start + 64, t.shape[0])):
                partial = partial + t[r]                         # f32 adds in row order
            sums += partial.astype(np.float64)                   # the parts summed in f64, in order
        self.pending += sums                                     # · W = I
        self.rows += t.shape[0]

    def softmax(self, t, tau):                                   # centered_softmax_rows
        z = (t - self.center) / F32(tau)
        e = np.exp(z - z.max(axis=1, keepdims=True)).astype(F32)
        return e * (F32(1) / e.sum(axis=1, dtype=F32, keepdims=True))


def cross_entropy_rows(student, teachers, tau, weight):
    """One chunk: student [rows, K] f32, teachers: list of [rows, K] (paired row by row) → (Σ row loss, bf16 grad,
    f32 grad before rounding)."""
    z = student / F32(tau)
    maximum = z.max(axis=1)
    mass = sum(t.astype(np.float64).sum(axis=1) for t in teachers)
    cross = sum((t.astype(np.float64) * z.astype(np.float64)).sum(axis=1) for t in teachers)
    e = np.exp(z - maximum[:, None]).astype(F32)
    inverse = F32(1) / e.sum(axis=1, dtype=F32)
    factor = F32(weight) / F32(tau)
    scale = factor * mass.astype(F32)
    q = (e * inverse[:, None]) * scale[:, None]
    for t in teachers:
        q = q - factor * t
    lse = maximum.astype(np.float64) - np.log(inverse.astype(np.float64))
    return float((lse * mass - cross).sum()), bf16(q), q


def sinkhorn(t, tau, iterations=3):
    """sinkhorn_column_scaling / sinkhorn_row_scaling / sinkhorn_probabilities (f64 log form)."""
    z = (t / F32(tau)).astype(np.float64)
    a = np.zeros(t.shape[1])
    c = np.zeros(t.shape[0])
    for _ in range(iterations):
        m = (z + c[:, None]).max(axis=0)
        a = -(m + np.log(np.exp(z + c[:, None] - m).sum(axis=0)))
        m = (z + a[None, :]).max(axis=1)
        c = -(m + np.log(np.exp(z + a[None, :] - m[:, None]).sum(axis=1)))
    return np.exp(z + a[None, :] + c[:, None]).astype(F32)


def loss_step(fx, s, probabilities, budget_bytes):
    """DINO local/global and iBOT losses and gradients of one fixture step, chunked as the device would."""
    b, ng, nl, k = fixtures.B, fixtures.NG, fixtures.NL, fixtures.K
    p_cls, p_patch = probabilities
    weight = F32(1 / float(b * (ng * nl + ng * (ng - 1))))           # CrossEntropyPairing.dinoRowWeight
    results = {}
    for name, student, crops in (("local", fx[f"{s}.student_local"], nl), ("global", fx[f"{s}.student_global"], ng)):
        loss, grad, exact = 0.0, np.zeros_like(student), np.zeros_like(student)
        for crop in range(crops):
            teacher_crops = list(range(ng)) if name == "local" else [g for g in range(ng) if g != crop]
            for chunk in logit_chunks(b, k, budget_bytes):
                rows = [crop * b + i for i in chunk]
                teachers = [p_cls[[g * b + i for i in chunk]] for g in teacher_crops]
                value, g16, g32 = cross_entropy_rows(student[rows], teachers, fixtures.TAU_S, weight)
                loss += value
                grad[rows], exact[rows] = g16, g32
        results[name] = (loss * float(weight), grad, exact)
    student = fx[f"{s}.student_patch"]
    rows = student.shape[0]
    loss, grad, exact = 0.0, np.zeros_like(student), np.zeros_like(student)
    for chunk in logit_chunks(rows, k, budget_bytes):
        value, g16, g32 = cross_entropy_rows(student[chunk.start:chunk.stop], [p_patch[chunk.start:chunk.stop]],
                                             fixtures.TAU_S, F32(1 / float(rows)))
        loss += value
        grad[chunk.start:chunk.stop], exact[chunk.start:chunk.stop] = g16, g32
    results["ibot"] = (loss / rows, grad, exact)
    return results


def compare_losses(label, fx, s, results, grads_prefix):
    expected = fx[f"{grads_prefix}.losses"]
    for index, name in enumerate(("local", "global", "ibot")):
        check(f"{label} {name} loss", relative(results[name][0], expected[index]), 1e-5)
    for name, key in (("local", "grad_local"), ("global", "grad_global"), ("ibot", "grad_patch")):
        reference = fx[f"{grads_prefix}.{key}"]
        check(f"{label} {name} gradient (f32, before bf16)", relative(results[name][2], reference), 1e-5)
        check(f"{label} {name} gradient (bf16, as stored)", relative(results[name][1], reference), 4e-3)


def emulate_losses():
    fx = load_file("Tests/Fixtures/objective/losses.safetensors")
    k = fixtures.K
    budget = 3 * k * 10                                          # 3-row chunks: several chunks per tensor
    dino, ibot = DeviceCentering(k), DeviceCentering(k)
    for step in range(3):
        s = f"s{step}"
        tau = float(fx[f"{s}.temperature"][0])
        dino.update()
        ibot.update()
        check(f"step {step} DINO centre", relative(dino.center, fx[f"{s}.dino_center"]) if step else
              float(np.max(np.abs(dino.center - fx[f"{s}.dino_center"]))), 1e-6)
        check(f"step {step} iBOT centre", relative(ibot.center, fx[f"{s}.ibot_center"]) if step else
              float(np.max(np.abs(ibot.center - fx[f"{s}.ibot_center"]))), 1e-6)
        probabilities = []
        for centering, key in ((dino, "teacher_cls"), (ibot, "teacher_patch")):
            t = fx[f"{s}.{key}"]
            p = np.zeros_like(t)
            for chunk in logit_chunks(t.shape[0], k, budget):
                centering.accumulate(t[chunk.start:chunk.stop])
                p[chunk.start:chunk.stop] = centering.softmax(t[chunk.start:chunk.stop], tau)
            probabilities.append(p)
        compare_losses(f"step {step}", fx, s, loss_step(fx, s, probabilities, budget), s)
    tau = float(fx["sk.temperature"][0])
    p_cls, p_patch = sinkhorn(fx["s0.teacher_cls"], tau), sinkhorn(fx["s0.teacher_patch"], tau)
    check("Sinkhorn DINO probabilities", relative(p_cls, fx["sk.dino_probs"]), 1e-5)
    check("Sinkhorn iBOT probabilities", relative(p_patch, fx["sk.ibot_probs"]), 1e-5)
    compare_losses("Sinkhorn", fx, "s0", loss_step(fx, "s0", (p_cls, p_patch), budget), "sk")


# --- optimizer.cu -----------------------------------------------------------------------------------------------

def emulate_optimizer():
    import torch
    fx = load_file("Tests/Fixtures/objective/optimizer.safetensors")
    rows, shapes = fixtures.student_groups(2, None)
    modules = [0 if not r[0].startswith(("dino_head.", "ibot_head.")) else (1 if r[0].startswith("dino_head.") else 2)
               for r in rows]
    ranges, start = [], 0
    for index, r in enumerate(rows):
        count = int(np.prod(shapes[r[0]]))
        ranges.append((start, start + count, index, modules[index]))
        start += count
    chunks, offsets = optimizer_chunks(ranges, 3, 64)          # small chunks: every range split, modules interleaved
    covered = np.zeros(start, int)
    for first, count, _, _ in chunks:
        covered[first:first + count] += 1
    check("chunk plan covers every parameter once", float(np.max(np.abs(covered - 1))), 0)
    schedules = fixtures.build_schedulers(**fixtures.SHORT)
    p = fx["params0"].copy()
    m, v = np.zeros_like(p), np.zeros_like(p)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    ema = p.copy()
    torch_ema, torch_student = [torch.tensor(p.copy())], None
    for step, it in enumerate((9, 10, 11)):
        g = fx[f"step{step}.grad"].copy()
        partials = [np.sum(g[f:f + c].astype(np.float64) ** 2) for f, c, _, _ in chunks]   # gradient_square_partials
        scales, norms = [], []
        for module in range(3):                                                            # clip_scales
            norm = math.sqrt(sum(partials[offsets[module]:offsets[module + 1]]))
            coefficient = F32(3.0) / (F32(norm) + F32(1e-6))
            scales.append(min(coefficient, F32(1)))
            norms.append(norm)
        check(f"AdamW step {step}: module norms", relative(norms, fx[f"step{step}.norms"]), 1e-6)
        lr, wd, last_lr = schedules["lr"][it], schedules["wd"][it], schedules["last_layer_lr"][it]
        t = step + 1
        decay, step_size = [], []
        for r in rows:                                           # host: per-group values in Double, then rounded
            group_lr = (last_lr if r[3] else lr) * r[1]
            decay.append(F32(1 - group_lr * (wd * r[2])))
            step_size.append(F32(-(group_lr / (1 - beta1 ** t))))
        correction = F32(math.sqrt(1 - beta2 ** t))
        for first, count, group, module in chunks:               # adamw_step
            sl = slice(first, first + count)
            gradient = g[sl]
            if scales[module] < 1:
                gradient = gradient * scales[module]
                g[sl] = gradient
            decayed = p[sl] * decay[group]
            moment = m[sl] + F32(1 - beta1) * (gradient - m[sl])
            second = v[sl] * F32(beta2)
            second = second + (F32(1 - beta2) * gradient) * gradient
            denominator = np.sqrt(second) / correction + F32(eps)
            p[sl] = decayed + step_size[group] * (moment / denominator)
            m[sl], v[sl] = moment, second
        clipped, reference = fx[f"step{step}.clipped"], fx[f"step{step}.params"]
        check(f"AdamW step {step}: clipped gradients", relative(g, clipped), 1e-6)
        error = float(np.max(np.abs(p - reference) / np.maximum(np.abs(reference), 1e-3)))
        check(f"AdamW step {step}: parameters (relative, floor 1e-3)", error, 1e-6)
        # ema_update after the step, momentum of the schedule; torch's _foreach form as the reference.
        momentum = float(schedules["momentum"][it])
        alpha = F32(1 - momentum)
        ema = (p.astype(np.float64) * np.float64(alpha) + (ema * F32(momentum)).astype(np.float64)).astype(F32)
        torch._foreach_mul_(torch_ema, momentum)
        torch._foreach_add_(torch_ema, [torch.tensor(p)], alpha=1 - momentum)
        difference = np.max(np.abs(ema.view(np.int32).astype(np.int64) - torch_ema[0].numpy().view(np.int32).astype(np.int64)))
        check(f"EMA step {step}: ulps from torch _foreach", float(difference), 1)


if __name__ == "__main__":
    emulate_losses()
    emulate_optimizer()
    print("all checks passed" if not FAILURES else f"{len(FAILURES)} failed: {FAILURES}")
    sys.exit(1 if FAILURES else 0)
