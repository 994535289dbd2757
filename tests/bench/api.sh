#!/bin/sh
# tests/bench/api.sh: API throughput against baselines measured in the same
# run (see api.js): signed ListEmailTemplates vs a static evhttp reply, and
# CreateReceiverDetailWithData rows vs psql \copy.
#   tests/bench/api.sh     (env: BENCH_SECONDS=10 BENCH_CONNS=32 BENCH_ROW_CALLS=5,
#                           BENCH_PERF=FILE: perf record of sesd's run)
# Builds an optimised tree in build-release/ (the test builds are -O0).
set -eu
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null 2>&1 || apt-get install -y -q wrk >/dev/null ||
	{ apt-get update -q && apt-get install -y -q wrk; }
make -s deps
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSESD_ASSERT=OFF >/dev/null
cmake --build build-release -j2 >/dev/null
exec env SESD_BUILD="$PWD/build-release" SESD_BIN="$PWD/build-release/daemon/sesd" \
	node tests/bench/api.js
