#!/usr/bin/env bash
# Runs the whole benchmark suite RUNS times (default 7), one pass after the
# other, so every benchmark is sampled across the same stretch of time;
# writes the raw output to bench.txt and prints the tables of BENCHMARKS.md
# (needs python3 for the tables only). BenchmarkServeOverhead runs on its
# own in each pass, with OVERHEAD_REQUESTS (default 20000) requests per
# server. BenchmarkServeStart (seconds per run) is run by hand, see
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")"
runs="${RUNS:-7}"
: > bench.txt
for i in $(seq 1 "$runs"); do
  go test -run '^$' -bench . -skip 'ServeOverhead|ServeStart' -benchmem -count 1 -benchtime "${BENCHTIME:-300ms}" ./ | grep '^Benchmark' >> bench.txt
  # serve against a bare net/http server: a fixed number of requests each.
  go test -run '^$' -bench ServeOverhead -count 1 -benchtime "${OVERHEAD_REQUESTS:-20000}x" ./ | grep '^Benchmark' >> bench.txt
done
python3 table.py bench.txt
