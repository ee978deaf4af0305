#!/usr/bin/env python3
"""Checks that h5py reads a feature file `distill embed` wrote with the documented shapes (docs/embedding.md).

Usage: check_feature_file.py FILE.h5 --rows N --dim D [--coords] [--pooling cls|cls+mean]
Exits 1 with a message naming the dataset or attribute that differs. Needs h5py and numpy.
"""
import argparse
import sys

import h5py
import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--coords", action="store_true", help="the file must have coords [N, 2]")
    parser.add_argument("--pooling", default=None)
    args = parser.parse_args()
    problems = []
    with h5py.File(args.path, "r") as f:
        features = f["features"]
        if features.shape != (args.rows, args.dim) or features.dtype != np.float32:
            problems.append(f"features: {features.shape} {features.dtype}, expected ({args.rows}, {args.dim}) float32")
        if not np.isfinite(features[:]).all():
            problems.append("features: non-finite values")
        if "encoder" not in features.attrs:
            problems.append("features: no 'encoder' attribute")
        if args.pooling is not None and features.attrs.get("pooling") != args.pooling:
            problems.append(f"features.attrs['pooling'] = {features.attrs.get('pooling')!r}, expected {args.pooling!r}")
        if args.coords:
            coords = f.get("coords")
            if coords is None or coords.shape != (args.rows, 2) or coords.dtype.kind != "i":
                problems.append(f"coords: {None if coords is None else (coords.shape, coords.dtype)}, expected ({args.rows}, 2) int")
            else:
                for key in ("patch_size", "mpp"):
                    if key not in coords.attrs:
                        problems.append(f"coords: no '{key}' attribute")
        elif "patch_size" not in features.attrs:
            problems.append("features: no 'patch_size' attribute (file without coords)")
        names = f.get("tile_names")
        if names is None or names.shape != (args.rows,):
            problems.append(f"tile_names: {None if names is None else names.shape}, expected ({args.rows},)")
        summary = {k: (f[k].shape, str(f[k].dtype), dict(f[k].attrs)) for k in f}
    for problem in problems:
        print(f"{args.path}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{args.path}: {summary}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
