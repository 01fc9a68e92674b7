#!/usr/bin/env bash
# Runs the whole benchmark suite RUNS times (default 7), one pass after the
# other, so every benchmark is sampled across the same stretch of time;
# writes the raw output to bench.txt and prints the tables of
# BENCHMARKS.md (needs python3 for the tables only).
set -euo pipefail
cd "$(dirname "$0")"
runs="${RUNS:-7}"
: > bench.txt
for i in $(seq 1 "$runs"); do
  go test -run '^$' -bench . -benchmem -count 1 -benchtime "${BENCHTIME:-300ms}" ./ | grep '^Benchmark' >> bench.txt
done
python3 table.py bench.txt
