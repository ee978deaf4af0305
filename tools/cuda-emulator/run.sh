#!/usr/bin/env bash
# Runs a command with the CUDA CPU emulator standing in for libcuda, NVRTC and cuBLASLt (README.md):
#   tools/cuda-emulator/run.sh .build/release/distill cuda parity --part all
set -euo pipefail
library=$("$(dirname "${BASH_SOURCE[0]}")/build.sh")
export DISTILL_LIBCUDA=$library DISTILL_NVRTC=$library DISTILL_CUBLASLT=$library
exec "$@"
