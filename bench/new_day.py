#!/usr/bin/env python3
"""Adds one day of exports to a demo city: copies the hotline and grid records of FROM
(YYYY-MM-DD) as new records dated TO, in new files, the way a nightly export arrives.

    python3 bench/new_day.py CITY_DIR FROM TO
"""
import json
import pathlib
import re
import sys

city, src, dst = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
y, m, d = (int(x) for x in src.split("-"))
Y, M, D = (int(x) for x in dst.split("-"))
slash_src = f"{y}/{m}/{d} "
slash_dst = f"{Y}/{M}/{D} "
tag = dst.replace("-", "")

hot = sorted((city / "exports/hotline").glob("12345_????-??.csv"))[-1]
text = hot.read_bytes().decode("gb18030")
lines = text.splitlines()
out = [lines[0]]
for line in lines[1:]:
    cells = line.split(",", 2)
    if len(cells) == 3 and cells[0].startswith("H") and (
        cells[1].startswith(src + " ") or cells[1].startswith(slash_src)
    ):
        line = "N" + tag + line[1:]
        line = line.replace(src, dst).replace(slash_src, slash_dst)
        out.append(line)
(city / f"exports/hotline/12345_{dst}.csv").write_bytes(("\r\n".join(out) + "\r\n").encode("gb18030"))

grid = sorted((city / "exports/grid").glob("grid_????-??.jsonl"))[-1]
rows = []
for line in grid.read_text(encoding="utf-8").splitlines():
    try:
        o = json.loads(line)
    except json.JSONDecodeError:
        continue
    if str(o.get("提交时间", "")).startswith(src):
        o["id"] = f"N{tag}{o['id']}"
        o["提交时间"] = o["提交时间"].replace(src, dst)
        rows.append(json.dumps(o, ensure_ascii=False))
(city / f"exports/grid/grid_{dst}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
print(f"new day {dst}: {len(out) - 1} hotline rows, {len(rows)} grid rows")
