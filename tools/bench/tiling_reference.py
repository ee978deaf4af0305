#!/usr/bin/env python3
"""Python reference for `distill bench tiling`: the same tiling job with openslide-python + numpy.

Per slide, single thread: open, thumbnail (longest side 2048, `OpenSlide.get_thumbnail`), tissue detection
(saturation Otsu, mirroring Sources/SlideIO/TissueDetectorSaturationOtsu.swift), the tile grid (224 px at
0.5 um/px, drop partial edge tiles, min tissue 0.5), `read_region` per kept tile from the chosen level,
resize with PIL (BOX, area averaging) when the read is not 224 px, and each tile compressed as one zstd
frame (level 3) appended to a file per slide in a temporary folder (standing in for shards).

Differences from the Swift detector, all of which make this reference *cheaper*, not dearer:
  - no median blur of the saturation (CLAM's cv2.medianBlur; OpenCV is not a dependency here);
  - no cleanup (removal of small components, filling of small holes: scipy is not a dependency);
  - the thumbnail is openslide-python's get_thumbnail (level read + PIL LANCZOS), not our area average.
Everything else is mirrored: OpenCV-convention HSV saturation and value, black (V <= 85), pen (histolab
RGB boxes) and glass (S <= 10 and V >= 70) filters, dark-background check (median V <= 64 rejects),
Otsu on the histogram clipped at 30, floor 8, the tile grid offsets and the area-weighted tissue fraction.

Prints JSON (snake_case): per slide tiles and seconds per pass, totals, tiles/s per core
(tiles / process CPU seconds) and tiles / wall second. The job repeats until it has run >= --min-seconds.

Usage: tiling_reference.py [--min-seconds 2] [--slide PATH[=MPP]] ...
Install: python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install openslide-python numpy zstandard pillow
"""

import argparse
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time

import numpy as np
import openslide
import zstandard
from PIL import Image

TILE = 224
TARGET_MPP = 0.5
MIN_TISSUE = 0.5
THUMB_SIDE = 2048
# TissueDetectorSaturationOtsu.swift defaults.
MIN_THRESHOLD, MAX_THRESHOLD = 8, 30
BLACK_V_MAX, GLASS_S_MAX, GLASS_V_MIN = 85, 10, 70
DARK_MEDIAN_V = 64
RED_BOXES = [(150, 80, 90), (110, 20, 30), (185, 65, 105), (195, 85, 125), (220, 115, 145),
             (125, 40, 70), (100, 50, 65), (85, 25, 45)]
GREEN_BOXES = [(150, 160, 140), (70, 110, 110), (45, 115, 100), (30, 75, 60), (195, 220, 210), (225, 230, 225),
               (170, 210, 200), (20, 30, 20), (50, 60, 40), (30, 50, 35), (65, 70, 60), (100, 110, 105),
               (165, 180, 180), (140, 140, 150), (185, 195, 195)]
BLUE_BOXES = [(60, 120, 190), (120, 170, 200), (175, 210, 230), (145, 180, 210), (37, 95, 160), (30, 65, 130),
              (130, 155, 180), (40, 35, 85), (30, 20, 65), (90, 90, 140), (60, 60, 120), (110, 110, 175)]


def pen_tables():
    """Per-channel bit tables (as PenMarkFilter.tables): a pixel is pen when red[r] & green[g] & blue[b] != 0."""
    v = np.arange(256)
    red = np.zeros(256, np.uint64)
    green = np.zeros(256, np.uint64)
    blue = np.zeros(256, np.uint64)
    bit = 0
    for boxes, ops in ((RED_BOXES, (np.greater, np.less, np.less)),
                       (GREEN_BOXES, (np.less, np.greater, np.greater)),
                       (BLUE_BOXES, (np.less, np.less, np.greater))):
        for box in boxes:
            b = np.uint64(1 << bit)
            red[ops[0](v, box[0])] |= b
            green[ops[1](v, box[1])] |= b
            blue[ops[2](v, box[2])] |= b
            bit += 1
    return red, green, blue


PEN = pen_tables()


def otsu(hist):
    """Otsu 1979 on a histogram, as OtsuThreshold.threshold(histogram:): first maximum, None if empty."""
    hist = hist.astype(np.float64)
    total = hist.sum()
    if total == 0:
        return None
    t = np.arange(len(hist), dtype=np.float64)
    n0 = np.cumsum(hist)
    s0 = np.cumsum(t * hist)
    n1 = total - n0
    s = (t * hist).sum()
    valid = (n0 > 0) & (n1 > 0)
    if not valid.any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (total * s0 - n0 * s) ** 2 / (n0 * n1)
    score[~valid] = -1.0
    return int(np.argmax(score))


def detect(rgb):
    """Tissue mask (uint8 0/1) of an RGB thumbnail (H x W x 3 uint8); None for a dark background."""
    r = rgb[..., 0].astype(np.int32)
    g = rgb[..., 1].astype(np.int32)
    b = rgb[..., 2].astype(np.int32)
    high = np.maximum(np.maximum(r, g), b)
    low = np.minimum(np.minimum(r, g), b)
    sat = np.where(high > 0, (255 * (high - low) + high // 2) // np.maximum(high, 1), 0)
    value = high
    nonblack = value[value > 0]
    median = int(np.partition(nonblack, (nonblack.size - 1) // 2)[(nonblack.size - 1) // 2]) if nonblack.size else 0
    if median <= DARK_MEDIAN_V:
        return None
    black = value <= BLACK_V_MAX
    pen = (PEN[0][rgb[..., 0]] & PEN[1][rgb[..., 1]] & PEN[2][rgb[..., 2]]) != 0
    glass = (sat <= GLASS_S_MAX) & (value >= GLASS_V_MIN)
    excluded = black | pen | glass
    sat = np.where(excluded, 0, sat)
    # (No median blur here; see the module notes.)
    hist = np.bincount(sat.ravel(), minlength=256)
    hist[MAX_THRESHOLD] += hist[MAX_THRESHOLD + 1:].sum()
    hist = hist[:MAX_THRESHOLD + 1]
    found = otsu(hist)
    threshold = max(found if found is not None else MIN_THRESHOLD, MIN_THRESHOLD)
    return ((~excluded) & (sat > threshold)).astype(np.uint8)


def axis_offsets(length, extent, read_extent, stride):
    """TileGrid.count / offset for the drop policy, no overlap."""
    if length <= 0:
        return []
    tol = 1e-9 * max(1, length)
    if length + tol < extent:
        return []
    steps = max(0.0, (length - extent) / stride)
    count = int(math.floor(steps + tol / stride)) + 1
    out = []
    for i in range(count):
        p = i * stride
        o = int(math.floor(p + 0.5))  # values are >= 0: half away from zero
        out.append(max(0, min(o, length - read_extent)))
    return out


def tissue_fractions(mask, fx, fy, xs, ys, side):
    """Area-weighted tissue fraction of level-0 squares (TissueCoverage: bilinear integral image)."""
    h, w = mask.shape
    table = np.zeros((h + 1, w + 1), np.float64)
    table[1:, 1:] = np.cumsum(np.cumsum(mask, axis=0, dtype=np.float64), axis=1)

    def integral(u, v):
        u = np.clip(u, 0, w)
        v = np.clip(v, 0, h)
        i = np.minimum(u.astype(np.int64), w - 1)
        j = np.minimum(v.astype(np.int64), h - 1)
        fu = u - i
        fv = v - j
        s00 = table[j, i]
        s10 = table[j, i + 1]
        s01 = table[j + 1, i]
        s11 = table[j + 1, i + 1]
        return s00 + fu * (s10 - s00) + fv * (s01 - s00) + fu * fv * (s11 - s10 - s01 + s00)

    u0, u1 = xs / fx, (xs + side) / fx
    v0, v1 = ys / fy, (ys + side) / fy
    area = (u1 - u0) * (v1 - v0)
    tissue = integral(u1, v1) - integral(u0, v1) - integral(u1, v0) + integral(u0, v0)
    return np.clip(tissue / area, 0, 1)


def tile_slide(path, mpp_override, out_dir, cctx, phases):
    c0 = time.process_time()
    slide = openslide.OpenSlide(path)
    props = slide.properties
    if mpp_override:
        mpp, source = mpp_override, "override"
    else:
        mpp, source = float(props[openslide.PROPERTY_NAME_MPP_X]), "metadata"
    width, height = slide.dimensions
    bx = int(props.get(openslide.PROPERTY_NAME_BOUNDS_X, 0))
    by = int(props.get(openslide.PROPERTY_NAME_BOUNDS_Y, 0))
    bw = int(props.get(openslide.PROPERTY_NAME_BOUNDS_WIDTH, width))
    bh = int(props.get(openslide.PROPERTY_NAME_BOUNDS_HEIGHT, height))

    thumb = slide.get_thumbnail((THUMB_SIDE, THUMB_SIDE))
    rgb = np.asarray(thumb.convert("RGB"))
    fx, fy = width / rgb.shape[1], height / rgb.shape[0]
    c1 = time.process_time()
    mask = detect(rgb)
    if mask is None:
        slide.close()
        return 0, mpp, source

    extent = TILE * TARGET_MPP / mpp
    read_extent = max(1, int(math.floor(extent + 0.5)))
    cols = [bx + o for o in axis_offsets(bw, extent, read_extent, extent)]
    rows = [by + o for o in axis_offsets(bh, extent, read_extent, extent)]
    if not cols or not rows:
        slide.close()
        return 0, mpp, source
    gx, gy = np.meshgrid(np.array(cols, np.float64), np.array(rows, np.float64))
    frac = tissue_fractions(mask, fx, fy, gx.ravel(), gy.ravel(), float(read_extent))
    kept = frac >= MIN_TISSUE - 1e-12

    # LevelChoice: the coarsest level with downsample <= target * (1 + 1%), else the finest.
    target = TARGET_MPP * read_extent / extent / mpp
    downsamples = slide.level_downsamples
    level = None
    for index, d in enumerate(downsamples):
        if d <= target * 1.01 and (level is None or d > downsamples[level]):
            level = index
    if level is None:
        level = int(np.argmin(downsamples))
    side = max(1, int(math.floor(read_extent / downsamples[level] + 0.5)))

    tiles = 0
    c2 = time.process_time()
    with open(os.path.join(out_dir, os.path.basename(path) + ".zst"), "wb") as out:
        for x, y in zip(gx.ravel()[kept], gy.ravel()[kept]):
            r0 = time.process_time()
            region = slide.read_region((int(x), int(y)), level, (side, side)).convert("RGB")
            if side != TILE:
                region = region.resize((TILE, TILE), Image.BOX)
            phases["read_cpu_s"] += time.process_time() - r0
            frame = cctx.compress(np.asarray(region).tobytes())
            out.write(len(frame).to_bytes(4, "little"))
            out.write(frame)
            tiles += 1
        out.flush()
        os.fsync(out.fileno())
    slide.close()
    c3 = time.process_time()
    phases["thumbnail_cpu_s"] += c1 - c0
    phases["detect_cpu_s"] += c2 - c1
    phases["tiles_cpu_s"] += c3 - c2
    return tiles, mpp, source


def parse_slide(text):
    if "=" in text:
        path, mpp = text.rsplit("=", 1)
        return path, float(mpp)
    return text, None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_root = os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "data", "slides", "aperio"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slide", action="append", default=None,
                        help="slide path, optionally PATH=MPP to override its mpp (repeatable)")
    parser.add_argument("--min-seconds", type=float, default=2.0, help="repeat the job until it has run this long")
    args = parser.parse_args()
    slides = [parse_slide(s) for s in args.slide] if args.slide else [
        (os.path.join(default_root, "CMU-1-Small-Region.svs"), None),
        (os.path.join(default_root, "tcga-cr-7395-01a-01-ts1.svs"), 0.25),
    ]

    cctx = zstandard.ZstdCompressor(level=3)
    per_slide = [{"slide": os.path.basename(p), "path": p, "mpp_override": o, "tiles": 0,
                  "wall_s": 0.0, "cpu_s": 0.0,
                  "thumbnail_cpu_s": 0.0, "detect_cpu_s": 0.0, "tiles_cpu_s": 0.0, "read_cpu_s": 0.0} for p, o in slides]
    passes = 0
    total_tiles = 0
    wall_start = time.perf_counter()
    cpu_start = time.process_time()
    while True:
        out_dir = tempfile.mkdtemp(prefix="distill-tiling-ref-")
        try:
            for entry, (path, override) in zip(per_slide, slides):
                w0, c0 = time.perf_counter(), time.process_time()
                tiles, mpp, source = tile_slide(path, override, out_dir, cctx, entry)
                entry["wall_s"] += time.perf_counter() - w0
                entry["cpu_s"] += time.process_time() - c0
                entry["tiles"] = tiles
                entry["mpp"] = mpp
                entry["mpp_source"] = source
                total_tiles += tiles
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        passes += 1
        if time.perf_counter() - wall_start >= args.min_seconds:
            break
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    for entry in per_slide:
        entry["seconds"] = entry.pop("wall_s") / passes
        entry["cpu_s"] = entry["cpu_s"] / passes
        for key in ("thumbnail_cpu_s", "detect_cpu_s", "tiles_cpu_s", "read_cpu_s"):
            entry[key] = entry[key] / passes
    tile_cpu = sum(entry["tiles_cpu_s"] for entry in per_slide) * passes
    print(json.dumps({
        "benchmark": "tiling-reference",
        "python": platform.python_version(),
        "openslide_python": openslide.__version__,
        "openslide": getattr(openslide, "__library_version__", None),
        "numpy": np.__version__,
        "zstandard": zstandard.__version__,
        "threads": 1,
        "passes": passes,
        "slides": per_slide,
        "tiles": total_tiles,
        "wall_s": wall,
        "cpu_s": cpu,
        "tiles_per_s_per_core": total_tiles / cpu if cpu > 0 else 0.0,
        "tiles_per_wall_s": total_tiles / wall if wall > 0 else 0.0,
        "tile_phase_tiles_per_s_per_core": total_tiles / tile_cpu if tile_cpu > 0 else 0.0,
        "notes": ["no median blur and no small-component/hole cleanup in tissue detection (cheaper than Swift)",
                  "thumbnail via OpenSlide.get_thumbnail; tiles as zstd level-3 frames in one file per slide"],
    }, indent=2, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
