#!/usr/bin/env bash
# The nightly batch on the large demo city: the first run ingests two years, the next one a
# single new day. Prints wall time and peak memory (GNU time) of each.
#   bench/large_nightly.sh [WORK_DIR]      (release build; needs ~2 GB of disk)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/weaksignal-large}
bin=target/release/weaksignal
cargo build --release --quiet
export WEAKSIGNAL_KEY=${WEAKSIGNAL_KEY:-0123456789abcdef0123456789abcdef}
if [ ! -f "$work/weaksignal.toml" ]; then
  /usr/bin/time -f "simulate large: %e s, peak %M KB" \
    $bin --quiet simulate --scale large --seed 1 --out "$work"
fi
rm -rf "$work/lake" "$work/output" "$work"/exports/*/*_2025-12-31.*
/usr/bin/time -f "nightly first run: %e s, peak %M KB" \
  $bin --quiet nightly --config "$work/weaksignal.toml" --as-of 2025-12-30
python3 bench/new_day.py "$work" 2025-12-24 2025-12-31
/usr/bin/time -f "nightly next day: %e s, peak %M KB" \
  $bin --quiet nightly --config "$work/weaksignal.toml" --as-of 2025-12-31
for m in "$work"/output/runs/*.json; do
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["run"], "seconds", {k: round(v,1) for k,v in m["stages"].items()}, "peak MB", {k: round(v) for k,v in m.get("peak_memory_mb", {}).items()}, "red", m["red"], "yellow", m["yellow"])' "$m"
done
