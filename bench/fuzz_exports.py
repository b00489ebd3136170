#!/usr/bin/env python3
"""Damaged exports through the real CLI: each round writes one mutated export into a copy of
the demo city and runs `weaksignal ingest` (or `validate`) on it.

    python3 bench/fuzz_exports.py BIN DEMO_CITY WORK_DIR [--rounds N] [--seed S] [--validate]

BIN is a weaksignal binary, DEMO_CITY a folder `weaksignal demo` made (its `weaksignal-demo`),
WORK_DIR a scratch folder (the city is copied there once, its lake kept between rounds so that
only the mutated file is read). An export is cut to a random run of its lines (its header
kept), then changed 1 to 30 times: bytes flipped, removed, inserted (quotes, separators, line
breaks, 0xFF, a BOM, long numbers, bursts of up to 100,000 of one), copied from elsewhere,
swapped, the file cut short; a workbook has one of its XML parts mutated inside a valid zip.
With --header, only one byte of a CSV or JSON Lines file's header line is changed, removed
or inserted: the damage a transfer does, against which a file should not be lost (with
--first, into an empty lake with no other export: the file is its source's first). With
--body, one byte of one record (quotes, separators, line breaks and GBK lead bytes drawn as
often as the rest), the undamaged cut ingested beside it in the same run: a file reading
fewer records than the cut less one, or quarantining more than two more, is reported (LOST,
kept as lost_*) — one byte must cost at most its own record and its neighbour.

Reported: rounds that crashed (exit code other than 0–3, a panic, or over 60 s) with the file
kept in WORK_DIR/bad_*; files whose summary line breaks rows = loaded + quarantined +
duplicates (kept as acct_*); and the reasons whole files were refused, most frequent first
(files refused for their encoding kept as enc_*). The committed property tests
(pipeline/tests/ingest.rs) hold the behaviours this found; this script is for looking for
the next ones.
"""
import argparse
import glob
import io
import os
import random
import shutil
import subprocess
import time
import zipfile

SPECIAL = [b'"', b',', b'\n', b'\r', b'\r\n', b'\x00', b'\xff', b'\xfe', b'\x80',
           b'\xef\xbb\xbf', b'{', b'}', b'[', b']', b'\\', b'="', b"'", b'\xe5', b'\xd5\xc5',
           b'1e400', b'99999999999999999999999', b'-', b':', b'NaN', b'null', b'\t', b'\xa3\xb1']


def mutate(rnd, data):
    d = bytearray(data)
    for _ in range(rnd.choice([1, 1, 2, 3, 5, 10, 30])):
        if not d:
            break
        op, i = rnd.randrange(9), rnd.randrange(len(d))
        if op == 0:
            d[i] = rnd.randrange(256)
        elif op == 1:
            d[i:i] = rnd.choice(SPECIAL)
        elif op == 2:
            del d[i:i + rnd.randrange(1, 200)]
        elif op == 3:
            j = rnd.randrange(len(d))
            d[i:i] = d[j:j + rnd.randrange(1, 300)]
        elif op == 4:
            d = d[:i]
        elif op == 5:
            d[i:i] = rnd.choice(SPECIAL) * rnd.choice([10, 1000, 100000])
        elif op == 6:
            d[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 50)))
        elif op == 7:
            j = rnd.randrange(len(d))
            d[i], d[j] = d[j], d[i]
        else:
            d[i:i] = b'\n' + d[i:i + rnd.randrange(1, 400)]
    return bytes(d)


def damaged_header(rnd, path):
    """One byte of the header line changed, removed or inserted (the rows kept whole)."""
    data = open(path, 'rb').read()
    lines = data.split(b'\n')
    k = rnd.randrange(1, min(len(lines), 400))
    start = rnd.randrange(1, max(2, len(lines) - k))
    h = bytearray(lines[0].rstrip(b'\r'))
    i, op = rnd.randrange(len(h)), rnd.randrange(3)
    if op == 0:
        h[i] = rnd.randrange(256)
    elif op == 1:
        del h[i]
    else:
        h[i:i] = bytes([rnd.randrange(256)])
    return b'\n'.join([bytes(h)] + lines[start:start + k])


BODY = [b'"', b',', b'\n', b'\r', b'{', b'}', b'\\', b'\x80', b'\xff', b'\xd5', b'\t']


def damaged_body(rnd, path):
    """One byte of one record changed, removed or inserted (quotes, separators, line breaks
    and lead bytes drawn as often as the rest); returns the damaged cut and the cut."""
    data = open(path, 'rb').read()
    lines = data.split(b'\n')
    k = rnd.randrange(2, min(len(lines), 400))
    start = rnd.randrange(1, max(2, len(lines) - k))
    cut = lines[:1] + lines[start:start + k]
    whole = b'\n'.join(cut)
    j = rnd.randrange(1, len(cut))
    r = bytearray(cut[j])
    if not r:
        return whole, whole
    i, op = rnd.randrange(len(r)), rnd.randrange(4)
    if op == 0:
        r[i] = rnd.randrange(256)
    elif op == 1:
        del r[i]
    elif op == 2:
        r[i:i] = bytes([rnd.randrange(256)])
    else:
        r[i:i] = rnd.choice(BODY)
    cut[j] = bytes(r)
    return b'\n'.join(cut), whole


def damaged(rnd, path):
    data = open(path, 'rb').read()
    if path.endswith('.xlsx'):
        if rnd.random() >= 0.8:
            return mutate(rnd, data)
        zin = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as zout:
            names = zin.namelist()
            target = rnd.choice([n for n in names if n.endswith('.xml')])
            for n in names:
                b = zin.read(n)
                zout.writestr(n, mutate(rnd, b) if n == target else b)
        return out.getvalue()
    lines = data.split(b'\n')
    k = rnd.randrange(1, min(len(lines), 400))
    start = rnd.randrange(1, max(2, len(lines) - k))
    return mutate(rnd, b'\n'.join(lines[:1] + lines[start:start + k]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('bin')
    ap.add_argument('demo_city')
    ap.add_argument('work')
    ap.add_argument('--rounds', type=int, default=300)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--validate', action='store_true')
    ap.add_argument('--header', action='store_true',
                    help='damage one byte of a CSV or JSON Lines header line, nothing else')
    ap.add_argument('--first', action='store_true',
                    help='with --header: the damaged file is its source\'s first (an empty '
                         'lake, no other export)')
    ap.add_argument('--body', action='store_true',
                    help='damage one byte of one record of a CSV or JSON Lines file; report '
                         'files that read fewer records than the undamaged cut (ingested '
                         'beside it) less one, or quarantined more than two more')
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    city = os.path.join(a.work, 'city')
    if a.first or not os.path.exists(os.path.join(city, 'lake')):
        shutil.rmtree(city, ignore_errors=True)
        shutil.copytree(a.demo_city, city)
    config = os.path.join(city, 'weaksignal.toml')
    env = dict(os.environ)
    env.pop('WEAKSIGNAL_KEY', None)  # the demo city's own key file
    exports = os.path.join(a.demo_city, 'exports')
    sources = (sorted(glob.glob(exports + '/hotline/*.csv'))
               + sorted(glob.glob(exports + '/grid/*.jsonl'))
               + ([] if a.header or a.body else sorted(glob.glob(exports + '/petition/*.xlsx'))))
    command = (['validate', '--config', config, '--preview-rows', '1000'] if a.validate
               else ['ingest', '--config', config])
    crashes, accounted, lost, codes, refusals = 0, 0, 0, {}, {}
    for n in range(a.rounds):
        src = rnd.choice(sources)
        ext = os.path.splitext(src)[1]
        for f in glob.glob(city + '/exports/*/zz_*'):
            os.remove(f)
        if a.first:
            shutil.rmtree(os.path.join(city, 'lake'), ignore_errors=True)
            for f in glob.glob(city + '/exports/*/*'):
                os.remove(f)
        out = os.path.join(os.path.dirname(src.replace(exports, city + '/exports')),
                           f'zz_fuzz{n}{ext}')
        base = None
        if a.body:
            data, whole = damaged_body(rnd, src)
            # The undamaged cut, ingested in the same run: what the damaged one is held to.
            base = out.replace('zz_fuzz', 'zz_base')
            open(base, 'wb').write(whole)
        else:
            data = (damaged_header if a.header else damaged)(rnd, src)
        open(out, 'wb').write(data)
        t = time.time()
        try:
            p = subprocess.run([a.bin] + command, capture_output=True, env=env, timeout=120)
            rc, text = p.returncode, (p.stdout + p.stderr).decode('utf-8', 'replace')
        except subprocess.TimeoutExpired:
            rc, text = 'timeout', ''
        took = time.time() - t
        codes[rc] = codes.get(rc, 0) + 1
        keep = lambda tag: shutil.copy(out, os.path.join(a.work, f'{tag}_{a.seed}_{n}{ext}'))
        counts = {}
        for line in text.splitlines():
            cells = line.split()
            if 'zz_fuzz' in line and 'ERROR:' in line:
                reason = line.split('ERROR:', 1)[1].split(': ', 1)[-1][:90]
                refusals[reason] = refusals.get(reason, 0) + 1
                if 'UTF-8' in reason or 'GBK' in reason:
                    keep('enc')
            elif (len(cells) > 7 and cells[1].startswith(('zz_fuzz', 'zz_base'))
                  and all(c.isdigit() for c in cells[2:7])):
                rows, loaded, _updated, quarantined, duplicates = map(int, cells[2:7])
                counts[cells[1].startswith('zz_base')] = (rows, quarantined, line)
                accounted += 1
                if rows != loaded + quarantined + duplicates:
                    print('ACCOUNTING', n, line, flush=True)
                    keep('acct')
        if base is not None and len(counts) == 2:
            (rows, quarantined, line), (rows0, quarantined0, _) = counts[False], counts[True]
            if rows < rows0 - 1 or quarantined > quarantined0 + 2:
                lost += 1
                print('LOST', n, f'undamaged: {rows0} rows, {quarantined0} quarantined;', line,
                      flush=True)
                keep('lost')
        if rc not in (0, 1, 2, 3) or 'panicked' in text or took > 60:
            crashes += 1
            keep('bad')
            print('CRASH', n, rc, round(took, 1), text[-800:], flush=True)
    print(f'{a.rounds} rounds: {crashes} crashed, exit codes {codes}, '
          f'{accounted} loaded files accounted'
          + (f', {lost} lost records or quarantined more than two' if a.body else ''))
    for reason, count in sorted(refusals.items(), key=lambda x: -x[1]):
        print(f'{count:5d} refused: {reason}')


if __name__ == '__main__':
    main()
