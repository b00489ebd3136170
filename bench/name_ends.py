#!/usr/bin/env python3
"""Writes notebooks-data/name_ends.txt: how often each character ends a person's name of
three characters (a surname of the masker's and two given characters) in jieba's
dictionary, the one jieba-rs embeds (27,000 or so such names, tagged nr, nrfg or nrt).

The masker reads it to tell a given name's last character from a verb's first
(`王丽拒不维修`: no name there ends with 拒; `王秀英`: 142 end with 英).

Usage: bench/name_ends.py  (from the repository; finds jieba-rs's source through cargo)
"""
import collections
import json
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1"], cwd=root))
jieba = next(p for p in meta["packages"] if p["name"] == "jieba-rs")
dict_txt = pathlib.Path(jieba["manifest_path"]).parent / "src" / "data" / "dict.txt"

names_rs = (root / "pipeline" / "src" / "names.rs").read_text(encoding="utf-8")
block = re.search(r'const SURNAMES: &str =\s*((?:"[^"]*"\s*)+);', names_rs, re.S).group(1)
surnames = set(re.sub(r'[\s"\\]', "", block))

ends = collections.Counter()
for line in open(dict_txt, encoding="utf-8"):
    parts = line.split()
    if len(parts) == 3 and parts[2] in ("nr", "nrfg", "nrt") and len(parts[0]) == 3 \
            and parts[0][0] in surnames:
        ends[parts[0][2]] += 1

out = root / "notebooks-data" / "name_ends.txt"
with open(out, "w", encoding="utf-8") as f:
    f.write(f"# written by bench/name_ends.py from jieba-rs {jieba['version']}'s dictionary: "
            f"a character, and how many of its {sum(ends.values())} three-character names "
            "(after the masker's surnames) end with it\n")
    for c, n in sorted(ends.items(), key=lambda kv: (-kv[1], kv[0])):
        f.write(f"{c} {n}\n")
print(f"{out}: {len(ends)} characters, {sum(ends.values())} names", file=sys.stderr)
