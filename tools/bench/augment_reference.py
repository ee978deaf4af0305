#!/usr/bin/env python3
"""Python reference for `distill bench augment`: DINOv2's multi-crop (DataAugmentationDINO) with torchvision on
PIL images, in one process, on the same 224-px tiles as the Swift side.

The pipeline is DINOv2's `dinov2/data/augmentations.py` written out with torchvision transforms (spec §6.1):
RandomResizedCrop (bicubic) + RandomHorizontalFlip, RandomApply(ColorJitter(0.4, 0.4, 0.2, 0.1), p=0.8),
RandomGrayscale(0.2), GaussianBlur(kernel 9, sigma 0.1-2.0) with DINOv2's wrapper (which applies it with
probability 1 - p: global 1 never, global 2 0.9, local 0.5; `--blur nominal` gives 1.0 / 0.1 / 0.5), RandomSolarize
(128, p=0.2) on the second global crop, ToTensor + Normalize with H-optimus-0's mean/std; then the two global
crops and the eight local crops are stacked into one [2, 3, 224, 224] and one [8, 3, 98, 98] tensor per tile.

Tiles: every 224 x 224 square of a grid over each PNG under --tiles-root (default ../shared/data/tiles), read
with PIL `Image.open(path).convert("RGB")`, in sorted path order, left to right and top to bottom (the same
list as `AugmentBenchmark.tiles` in Swift). Torch runs on one thread (`torch.set_num_threads(1)`), so the figure
is per core. The tiles are processed in order, repeatedly, until --min-seconds of wall time have passed.

Prints one JSON object: tiles, passes, sets, wall_s, cpu_s (process CPU, user + system), sets_per_s_per_core
(sets / cpu_s), sets_per_wall_s, versions.

Usage: python3 tools/bench/augment_reference.py [--tiles-root DIR] [--min-seconds 5] [--blur dinov2-code|nominal]
"""
import argparse
import glob
import json
import os
import resource
import sys
import time

import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms

MEAN = (0.707223, 0.578729, 0.703617)
STD = (0.211883, 0.230117, 0.177517)
TILE = 224


class DINOv2GaussianBlur(transforms.RandomApply):
    """DINOv2's `GaussianBlur(p)`: RandomApply with 1 - p (the inversion that spec §6.2 describes)."""

    def __init__(self, *, p: float = 0.5, radius_min: float = 0.1, radius_max: float = 2.0):
        keep_p = 1 - p
        blur = transforms.GaussianBlur(kernel_size=9, sigma=(radius_min, radius_max))
        super().__init__(transforms=[blur], p=keep_p)


def blur(p: float, choice: str):
    """A blur applied with the effective probability of the choice (dinov2-code: DINOv2's wrapper as written)."""
    if choice == "dinov2-code":
        return DINOv2GaussianBlur(p=p)
    return transforms.RandomApply([transforms.GaussianBlur(kernel_size=9, sigma=(0.1, 2.0))], p=p)


class DataAugmentationDINO:
    """DINOv2's DataAugmentationDINO with the H-optimus statistics and 98-px local crops."""

    def __init__(self, choice: str):
        bicubic = transforms.InterpolationMode.BICUBIC
        self.geometric_global = transforms.Compose([
            transforms.RandomResizedCrop(224, scale=(0.32, 1.0), interpolation=bicubic),
            transforms.RandomHorizontalFlip(p=0.5),
        ])
        self.geometric_local = transforms.Compose([
            transforms.RandomResizedCrop(98, scale=(0.05, 0.32), interpolation=bicubic),
            transforms.RandomHorizontalFlip(p=0.5),
        ])
        color = transforms.Compose([
            transforms.RandomApply([transforms.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)], p=0.8),
            transforms.RandomGrayscale(p=0.2),
        ])
        normalize = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean=MEAN, std=STD)])
        self.global_1 = transforms.Compose([color, blur(1.0, choice), normalize])
        self.global_2 = transforms.Compose([color, blur(0.1, choice), transforms.RandomSolarize(threshold=128, p=0.2), normalize])
        self.local = transforms.Compose([color, blur(0.5, choice), normalize])

    def __call__(self, image):
        global_crops = [self.global_1(self.geometric_global(image)), self.global_2(self.geometric_global(image))]
        local_crops = [self.local(self.geometric_local(image)) for _ in range(8)]
        return torch.stack(global_crops), torch.stack(local_crops)


def tiles(root: str) -> list:
    out = []
    for path in sorted(glob.glob(os.path.join(root, "**", "*.png"), recursive=True)):
        image = Image.open(path).convert("RGB")
        for top in range(0, image.height - TILE + 1, TILE):
            for left in range(0, image.width - TILE + 1, TILE):
                out.append(image.crop((left, top, left + TILE, top + TILE)))
    return out


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiles-root", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "tiles"))
    parser.add_argument("--min-seconds", type=float, default=5.0)
    parser.add_argument("--blur", choices=["dinov2-code", "nominal"], default="dinov2-code")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    images = tiles(args.tiles_root)
    if not images:
        sys.exit(f"no 224-px tiles under {args.tiles_root}")
    augment = DataAugmentationDINO(args.blur)
    augment(images[0])  # warm-up: first-call allocations and imports
    passes = sets = 0
    cpu0, start = cpu_seconds(), time.perf_counter()
    while True:
        for image in images:
            global_crops, local_crops = augment(image)
            assert global_crops.shape == (2, 3, 224, 224) and local_crops.shape == (8, 3, 98, 98)
            sets += 1
        passes += 1
        if time.perf_counter() - start >= args.min_seconds:
            break
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
    print(json.dumps({
        "tiles": len(images), "passes": passes, "sets": sets, "wall_s": wall, "cpu_s": cpu,
        "sets_per_s_per_core": sets / cpu, "sets_per_wall_s": sets / wall, "blur": args.blur,
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "torchvision": torchvision.__version__, "pillow": PIL.__version__},
    }))


if __name__ == "__main__":
    main()
