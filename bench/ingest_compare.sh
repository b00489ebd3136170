#!/usr/bin/env bash
# Ingest benchmark, side by side in one run on this machine:
#   weaksignal ingest  — GBK/UTF-8 decoding, datetime parsing, validation and quarantine,
#                        de-duplication, address → compound resolution, HMAC pseudonyms,
#                        PII masking, month partitions (Snappy Parquet)
#   DuckDB             — COPY (SELECT * FROM read_csv(..., all_varchar=true, delim=',', …)) TO parquet
#   polars             — scan_csv(...).sink_parquet(...)
# on one hotline CSV made of the large demo city's monthly exports (about 2.4 million rows),
# each RUNS times (default 3) in alternation, medians reported.
#
#   [RUNS=n] bench/ingest_compare.sh [CITY_DIR] [WORK_DIR]
# CITY_DIR holds a large demo city (created if absent); DuckDB and polars are installed
# from PyPI into WORK_DIR/venv.
set -euo pipefail
cd "$(dirname "$0")/.."
city=${1:-/tmp/weaksignal-large}
work=${2:-/tmp/weaksignal-ingest-bench}
bin=target/release/weaksignal
cargo build --release --quiet
export WEAKSIGNAL_KEY=${WEAKSIGNAL_KEY:-0123456789abcdef0123456789abcdef}
[ -f "$city/weaksignal.toml" ] || $bin --quiet simulate --scale large --seed 1 --out "$city"
mkdir -p "$work"
python3 bench/concat_hotline.py "$city" "$work"
if [ ! -x "$work/venv/bin/python" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet duckdb polars
fi
rows=$(($(wc -l < "$work/utf8/hotline.csv") - 1))
mb=$(du -m "$work/utf8/hotline.csv" | cut -f1)
mb_gbk=$(du -m "$work/gbk/hotline.csv" | cut -f1)
echo "input: $rows rows, UTF-8 $mb MB, GBK $mb_gbk MB"
# Wall and CPU (user + system) seconds of a command, by GNU time: on two cores CPU time is
# what the tools really compare on.
t() { /usr/bin/time -f "%e %U %S" -o "$work/.time" "$@" > /dev/null; local e u s; read -r e u s < "$work/.time"; echo "$e $(echo "$u + $s" | bc)"; }
report() { printf "%-28s %7.2f s  %6.2f s CPU  %9.0f rows/s  %6.1f MB/s  (walls: %s)\n" "$1" "$2" "$3" "$(echo "$rows / $2" | bc -l)" "$(echo "$4 / $2" | bc -l)" "$5"; }
# The median run of a tool (by wall time) from its "wall cpu" lines: "wall cpu all-walls".
median() { sort -n | awk '{w[NR]=$1; c[NR]=$2; all=all (NR>1?" ":"") $1} END {m=int((NR+1)/2); print w[m], c[m], all}'; }
duck_cmd="import duckdb
duckdb.sql(\"COPY (SELECT * FROM read_csv('$work/utf8/hotline.csv', all_varchar=true, delim=',', quote='\\\"', escape='\\\"', header=true, strict_mode=false, null_padding=true)) TO '$work/duck.parquet' (FORMAT parquet)\")"
polars_cmd="import polars as pl
pl.scan_csv('$work/utf8/hotline.csv', infer_schema=False).sink_parquet('$work/polars.parquet')"
# Every tool once per round, in turn, RUNS rounds (3 unless set): a machine whose speed
# drifts within minutes slows all of them alike, and the median of each is reported.
# DuckDB is given the dialect: its sniffer rejects the comma dialect on these exports (some
# records have fewer fields than the header: a line break typed in a cell, as real exports
# have) and falls back to `|` with no quotes, reading each line as one column, which is a
# copy, not a conversion.
# strict_mode=false and null_padding=true keep every row (ignore_errors would drop them).
runs=${RUNS:-3}
: > "$work/.runs"
for r in $(seq "$runs"); do
  for enc in utf8 gbk; do
    rm -rf "$work/$enc/lake"
    echo "ws_$enc $(t $bin --quiet ingest --config "$work/$enc/weaksignal.toml" --as-of 2025-12-31)" >> "$work/.runs"
  done
  rm -f "$work/duck.parquet" "$work/polars.parquet"
  echo "duck $(t "$work/venv/bin/python" -c "$duck_cmd")" >> "$work/.runs"
  echo "polars $(t "$work/venv/bin/python" -c "$polars_cmd")" >> "$work/.runs"
done
med() { grep "^$1 " "$work/.runs" | cut -d' ' -f2- | median; }
echo "median of $runs alternating runs each:"
read -r s c all <<< "$(med ws_utf8)"; report "weaksignal ingest (utf8)" "$s" "$c" "$mb" "$all"
read -r s c all <<< "$(med ws_gbk)"; report "weaksignal ingest (gbk)" "$s" "$c" "$mb_gbk" "$all"
ws_s=$s
read -r s c all <<< "$(med duck)"
report "DuckDB $("$work/venv/bin/python" -c 'import duckdb; print(duckdb.__version__)')" "$s" "$c" "$mb" "$all"
duck_s=$s
read -r s c all <<< "$(med polars)"
report "polars $("$work/venv/bin/python" -c 'import polars; print(polars.__version__)')" "$s" "$c" "$mb" "$all"
polars_s=$s
fastest=$(echo "if ($duck_s < $polars_s) $duck_s else $polars_s" | bc -l)
printf "ratio (fastest converter / weaksignal GBK, medians): %.2f (target >= 1)\n" "$(echo "$fastest / $ws_s" | bc -l)"
# A converter counts only if it wrote every row into the header's columns.
"$work/venv/bin/python" - "$work" "$rows" <<'PY'
import sys, duckdb
work, rows = sys.argv[1], int(sys.argv[2])
header = open(f"{work}/utf8/hotline.csv", encoding="utf-8").readline().rstrip("\r\n").split(",")
bad = False
for tool in ("duck", "polars"):
    f = f"{work}/{tool}.parquet"
    n = duckdb.sql(f"SELECT count(*) FROM '{f}'").fetchall()[0][0]
    cols = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{f}'").fetchall()]
    ok = n == rows and cols == header
    bad |= not ok
    print(f"{tool}: {n} rows, {len(cols)} columns{'' if ok else ' -- NOT the export (expected %d rows, %d columns)' % (rows, len(header))}")
sys.exit(1 if bad else 0)
PY
