#!/bin/sh
# tests/bench/delivery.sh: delivery throughput against a baseline measured in
# the same run (see delivery.js): sesd's end-to-end msgs/s (BatchSendEmail to
# the last result recorded) vs postfix smtp-source's msgs/s with the same
# number of sessions against the same smtp-sink, DKIM off and on (2048-bit).
#   tests/bench/delivery.sh   (env: BENCH_RECIPIENTS=100000 BENCH_WORKERS=4
#                              BENCH_PER_SESSION=500 BENCH_DKIM="off on")
# Builds an optimised tree in build-release/ (the test builds are -O0).
set -eu
cd "$(dirname "$0")/../.."
command -v smtp-source >/dev/null 2>&1 || [ -x /usr/sbin/smtp-source ] ||
	{ echo "delivery.sh: postfix's smtp-source/smtp-sink are needed (apt-get install postfix)" >&2; exit 1; }
make -s deps
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSESD_ASSERT=OFF >/dev/null
cmake --build build-release -j2 --target sesd >/dev/null
exec env SESD_BUILD="$PWD/build-release" SESD_BIN="$PWD/build-release/daemon/sesd" \
	node tests/bench/delivery.js
