#!/usr/bin/env python3
"""Concatenates a demo city's monthly hotline exports into one CSV, in UTF-8 and in GBK, each
with a weaksignal config holding only that source (for bench/ingest_compare.sh)."""
import pathlib
import re
import shutil
import sys

city, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
files = sorted((city / "exports/hotline").glob("12345_????-??.csv"))
conf = (city / "weaksignal.toml").read_text(encoding="utf-8")
head, _, rest = conf.partition("[[source]]")
hotline = "[[source]]" + rest.split("[[source]]")[0]
for enc, codec in (("utf8", "utf-8"), ("gbk", "gb18030")):
    d = work / enc
    (d / "exports").mkdir(parents=True, exist_ok=True)
    out = d / "hotline.csv"
    if not out.exists():
        with open(out, "wb") as w:
            for i, f in enumerate(files):
                text = f.read_bytes().decode("gb18030")
                if i > 0:
                    text = text.split("\n", 1)[1]
                w.write(text.encode(codec))
    for ref in ("compounds.csv", "taxonomy.csv"):
        shutil.copy(city / ref, d / ref)
    src = re.sub(r'path = "[^"]*"', 'path = "hotline.csv"', hotline, count=1)
    src = re.sub(r'encoding = "[^"]*"', f'encoding = "{"utf-8" if enc == "utf8" else "gbk"}"', src, count=1)
    (d / "weaksignal.toml").write_text(head + src, encoding="utf-8")
