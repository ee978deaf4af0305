#!/usr/bin/env bash
# The emulator's self-test (README.md), in both thread orders: working kernels give the device's results, and
# each misuse is reported as the error the README names.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
library=$("$here/../build.sh")
folder=$(dirname "$library")
"${CUDAEMU_CXX:-clang++}" -std=c++17 -O1 "$here/selftest.cpp" -o "$folder/selftest" "$library" -Wl,-rpath,"$folder"
"$folder/selftest"
CUDAEMU_SCHEDULE=reverse "$folder/selftest" reverse
