#!/usr/bin/env python3
"""A strict reader of the Prometheus text exposition format 0.0.4, for the
tests: every line must be a comment (# HELP / # TYPE), blank, or a sample
`name{label="value",...} value` with the format's escapes; a family's TYPE
comes before its samples and once; no series twice; a histogram's buckets
grow with `le` and end with +Inf equal to _count.  Prints the samples as JSON
lines {"name":..., "labels":{...}, "value":...}; exits 1 naming the line."""
import json
import math
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'


def fail(n, line, why):
    sys.stderr.write('line %d: %s: %r\n' % (n, why, line))
    sys.exit(1)


def parse_labels(s, n, line):
    labels, i = {}, 0
    while i < len(s):
        m = re.match(LABEL + '="', s[i:])
        if not m:
            fail(n, line, 'bad label at %d' % i)
        key = m.group(0)[:-2]
        i += len(m.group(0))
        val = []
        while True:
            if i >= len(s):
                fail(n, line, 'unterminated label value')
            c = s[i]
            if c == '\\':
                nxt = s[i + 1:i + 2]
                if nxt not in ('\\', '"', 'n'):
                    fail(n, line, 'bad escape')
                val.append('\n' if nxt == 'n' else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == '\n':
                fail(n, line, 'raw newline in a label value')
            else:
                val.append(c)
                i += 1
        if key in labels:
            fail(n, line, 'label twice')
        labels[key] = ''.join(val)
        if i < len(s):
            if s[i] != ',':
                fail(n, line, 'expected , between labels')
            i += 1
    return labels


def main():
    text = sys.stdin.read()
    if text and not text.endswith('\n'):
        fail(0, text[-40:], 'no final newline')
    types, seen, samples = {}, set(), []
    for n, line in enumerate(text.split('\n')[:-1], 1):
        if line == '':
            continue
        if line.startswith('#'):
            m = re.match(r'# (HELP|TYPE) (' + NAME + r') (.*)$', line)
            if not m:
                if line.startswith('# HELP') or line.startswith('# TYPE'):
                    fail(n, line, 'bad HELP/TYPE')
                continue
            if m.group(1) == 'TYPE':
                if m.group(3) not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                    fail(n, line, 'unknown type')
                if m.group(2) in types:
                    fail(n, line, 'TYPE twice')
                types[m.group(2)] = m.group(3)
            continue
        m = re.match(r'(' + NAME + r')(?:\{(.*)\})? ([^ ]+)(?: (-?[0-9]+))?$', line)
        if not m:
            fail(n, line, 'not a sample')
        name, labels = m.group(1), parse_labels(m.group(2) or '', n, line)
        try:
            value = float(m.group(3))
        except ValueError:
            fail(n, line, 'bad value')
        base = re.sub(r'_(bucket|sum|count)$', '', name)
        fam = name if name in types else base
        if fam not in types:
            fail(n, line, 'sample before its TYPE')
        if types[fam] == 'histogram' and name == fam:
            fail(n, line, 'histogram sample without _bucket/_sum/_count')
        if types[fam] == 'histogram' and name.endswith('_bucket') and 'le' not in labels:
            fail(n, line, 'bucket without le')
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            fail(n, line, 'series twice')
        seen.add(key)
        samples.append({'name': name, 'labels': labels, 'value': value})
    # histograms: cumulative buckets ending in +Inf == _count
    groups = {}
    for s in samples:
        if s['name'].endswith('_bucket'):
            rest = tuple(sorted((k, v) for k, v in s['labels'].items() if k != 'le'))
            groups.setdefault((s['name'][:-7], rest), []).append(s)
    for (base, rest), bs in groups.items():
        les = [math.inf if b['labels']['le'] == '+Inf' else float(b['labels']['le']) for b in bs]
        if les != sorted(les) or les[-1] != math.inf:
            fail(0, base, 'buckets out of order or no +Inf')
        vals = [b['value'] for b in bs]
        if vals != sorted(vals):
            fail(0, base, 'buckets not cumulative')
        cnt = [s for s in samples if s['name'] == base + '_count' and tuple(sorted(s['labels'].items())) == rest]
        if not cnt or cnt[0]['value'] != vals[-1]:
            fail(0, base, '+Inf bucket differs from _count')
    for s in samples:
        print(json.dumps(s))


main()
