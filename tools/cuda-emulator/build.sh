#!/usr/bin/env bash
# Builds the CUDA CPU emulator (README.md) and prints the library's path:
#   .build/cuda-emulator/libcudaemu.so — the driver API, NVRTC and cuBLASLt in one file.
# Needs clang++ (the Swift toolchain's) and OpenBLAS (libopenblas-dev). Rebuilds only when a source changed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${CUDAEMU_OUT:-$root/.build/cuda-emulator}
library=$out/libcudaemu.so
mkdir -p "$out"
sources=("$here"/src/*.cpp)
if [[ -f $library ]] && [[ -z $(find "$here/src" "$here/include" -newer "$library" -type f) ]]; then
    echo "$library"
    exit 0
fi
"${CUDAEMU_CXX:-clang++}" -std=c++17 -O2 -g -fPIC -shared -Wall -Wextra -Wno-unused-parameter \
    -DCUDAEMU_HEADER="\"$here/include/cudaemu_device.h\"" "${sources[@]}" \
    -o "$library.tmp" -lopenblas -ldl -pthread 1>&2
mv "$library.tmp" "$library"
echo "$library"
