#!/usr/bin/env python3
"""Checks the Python shard reader (distill_shards.py) against datasets the Swift writer made.

    python3 tools/python/check_reader.py DATASET [DATASET ...] [--reference REF] [--expect-corrupt SHARD:TILE]

For each dataset folder it verifies every checksum with the Python reader (frame and pixel CRC-32 of every
tile, metadata CRCs, whole-file CRC-32 against index.json), decodes every tile and checks that
zlib.crc32(pixels) equals the CRC-32 the Swift writer stored. With --reference (the `reference/` folder of
the Swift export test, PythonExportTests) it also compares every tile, in dataset order, with the raw
pixels in REF/tiles.rgb and the metadata in REF/tiles.jsonl, which the Swift side wrote straight from its
source tiles. With --expect-corrupt SHARD:TILE the dataset must fail, naming exactly that tile, while
every other tile still matches.

Prints one PASS or FAIL line per dataset and exits 0 only if every dataset passed. Works on any dataset,
e.g. the output of `distill tile` (without --reference).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import distill_shards as ds  # noqa: E402


def load_reference(folder: str):
    with open(os.path.join(folder, "geometry.json")) as file:
        geometry = json.load(file)
    height, width = geometry["height"], geometry["width"]
    pixels = np.fromfile(os.path.join(folder, "tiles.rgb"), dtype=np.uint8)
    count = pixels.size // (height * width * 3)
    if count * height * width * 3 != pixels.size or count != geometry["count"]:
        raise SystemExit(f"{folder}/tiles.rgb: {pixels.size} bytes is not {geometry['count']} tiles of {width}x{height}x3")
    with open(os.path.join(folder, "tiles.jsonl"), encoding="utf-8") as file:
        metadata = [json.loads(line) for line in file if line.strip()]
    return pixels.reshape(count, height, width, 3), metadata


def check(directory: str, reference, expect_corrupt: tuple[str, int] | None) -> list[str]:
    """Returns the failures (empty when the dataset passes)."""
    failures: list[str] = []
    try:
        data = ds.Dataset(directory)
    except ds.ShardError as error:
        return [str(error)]
    problems = data.verify()
    if expect_corrupt is None:
        failures += problems
    else:
        expected = f"{expect_corrupt[0]}: tile {expect_corrupt[1]}: stored frame checksum mismatch"
        if problems != [expected]:
            failures.append(f"verify should report exactly [{expected!r}], got {problems!r}")

    ref_pixels, ref_meta = reference if reference is not None else (None, None)
    if ref_pixels is not None and len(data) != len(ref_pixels):
        failures.append(f"{len(data)} tiles, the reference has {len(ref_pixels)}")
    checked = 0
    for number, entry in enumerate(data.shards):
        shard = data.shard(number)
        for tile in range(len(shard)):
            global_index = int(data._starts[number]) + tile
            where = f"{entry['file']}: tile {tile} (tile {global_index} of the dataset)"
            corrupt_here = expect_corrupt == (entry["file"], tile)
            try:
                pixels, meta = shard.tile(tile)
            except ds.ShardError as error:
                if not corrupt_here:
                    failures.append(f"{where}: {error.message}")
                continue
            if corrupt_here:
                failures.append(f"{where}: the damaged tile was read without an error")
                continue
            if pixels.shape != (shard.height, shard.width, 3) or pixels.dtype != np.uint8:
                failures.append(f"{where}: shape {pixels.shape} {pixels.dtype}")
                continue
            crc = zlib.crc32(pixels.tobytes())
            if crc != int(shard._entries[tile]["pixels_crc32"]):
                failures.append(f"{where}: pixel CRC-32 {crc:#010x} differs from the writer's")
            if ref_pixels is not None and global_index < len(ref_pixels):
                ref = ref_meta[global_index]
                if not np.array_equal(pixels, ref_pixels[global_index]):
                    differing = int(np.count_nonzero(pixels != ref_pixels[global_index]))
                    failures.append(f"{where}: {differing} bytes differ from reference/tiles.rgb")
                if crc != ref["crc32"]:
                    failures.append(f"{where}: pixel CRC-32 {crc:#010x}, the reference says {ref['crc32']:#010x}")
                if meta["slide_id"] != ref["slide_id"] or meta["x"] != ref["x"] or meta["y"] != ref["y"]:
                    failures.append(f"{where}: metadata {meta} differs from the reference {ref}")
                if not math.isclose(meta["mpp"], ref["mpp"], rel_tol=1e-12) or \
                        not math.isclose(meta["tissue_fraction"], ref["tissue_fraction"], rel_tol=1e-6, abs_tol=1e-7):
                    failures.append(f"{where}: mpp/tissue {meta['mpp']}/{meta['tissue_fraction']} differ from the reference")
            checked += 1
    # Random access gives what iteration gave.
    if len(data) and not failures:
        for index in sorted({0, len(data) // 2, len(data) - 1}):
            number, tile = data.locate(index)
            if expect_corrupt == (data.shards[number]["file"], tile):
                continue
            pixels, meta = data.tile(index, checksums=True)
            if ref_pixels is not None and not np.array_equal(pixels, ref_pixels[index]):
                failures.append(f"random access to tile {index} differs from the reference")
    data.close()
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="+", help="dataset folders (index.json + shard-*.dts)")
    parser.add_argument("--reference", help="folder with tiles.rgb, tiles.jsonl, geometry.json (from PythonExportTests)")
    parser.add_argument("--expect-corrupt", metavar="SHARD:TILE",
                        help="the datasets must fail naming exactly this tile (e.g. shard-000001.dts:17)")
    args = parser.parse_args()
    reference = load_reference(args.reference) if args.reference else None
    expect = None
    if args.expect_corrupt:
        shard, _, tile = args.expect_corrupt.rpartition(":")
        expect = (shard, int(tile))
    failed = False
    for directory in args.datasets:
        failures = check(directory, reference, expect)
        if failures:
            failed = True
            print(f"FAIL {directory}: {len(failures)} problem(s)")
            for line in failures[:50]:
                print(f"  {line}")
        else:
            with ds.Dataset(directory) as data:
                what = f"{len(data)} tiles in {len(data.shards)} shards"
            detail = f" except {args.expect_corrupt}, whose damage was detected as expected" if expect else ""
            ref = ", pixels and metadata equal to the reference" if reference is not None else ""
            print(f"PASS {directory}: {what}, every checksum verified{ref}{detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
