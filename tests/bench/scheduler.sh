#!/bin/sh
# tests/bench/scheduler.sh: the scheduler (issue 4; see scheduler.js):
#  1. time and memory to hold 100,000 pending timed tasks (TaskType 2,
#     BeginTime 10..50 min ahead): wall time from sesd's start until its wheel
#     holds them all, and sesd's VmRSS/VmHWM against a baseline run of the same
#     sesd on the same database without them;
#  2. firing lag (task_runs.released_at - send_tasks.begin_at) p50/p99/max when
#     1,000 timed tasks fall due in the same second, each released exactly once.
#   tests/bench/scheduler.sh   (env: BENCH_HELD=100000 BENCH_BURST=1000)
# Builds an optimised tree in build-release/ (the test builds are -O0).
set -eu
cd "$(dirname "$0")/../.."
make -s deps
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSESD_ASSERT=OFF >/dev/null
cmake --build build-release -j2 --target sesd >/dev/null
exec env SESD_BUILD="$PWD/build-release" SESD_BIN="$PWD/build-release/daemon/sesd" \
	node tests/bench/scheduler.js
