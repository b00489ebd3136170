#!/usr/bin/env bash
# Alternating GBK ingests of the benchmark file by two or more builds of weaksignal, to tell
# whether a change costs anything: each binary once per round, N rounds, then each one's
# median wall and CPU (user + system) seconds. A machine whose speed drifts slows all alike.
#
#   bench/ingest_pair.sh N WORK_DIR BINARY...
# WORK_DIR is the benchmark's (bench/ingest_compare.sh writes WORK_DIR/gbk/ and its config).
set -euo pipefail
n=$1 work=$2; shift 2
export WEAKSIGNAL_KEY=${WEAKSIGNAL_KEY:-0123456789abcdef0123456789abcdef}
out=$(mktemp)
for _ in $(seq "$n"); do
  for b in "$@"; do
    rm -rf "$work/gbk/lake"
    /usr/bin/time -f "$b %e %U %S" -a -o "$out" "$b" --quiet ingest \
      --config "$work/gbk/weaksignal.toml" --as-of 2025-12-31 > /dev/null
  done
done
python3 - "$out" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    b, e, u, s = line.split()
    runs[b].append((float(e), float(u) + float(s)))
for b, v in runs.items():
    print(f"{b}: median wall {statistics.median(e for e, _ in v):.2f} s, "
          f"median CPU {statistics.median(c for _, c in v):.2f} s ({len(v)} runs)")
PY
rm -f "$out"
