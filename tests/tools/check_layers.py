#!/usr/bin/env python3
"""check_layers.py - the house rules of the source tree, checked (make
check-layers, part of make test):

  1. every quoted #include names its folder ("kafka/codec.h",
     "auth/sasl.h") and resolves under the include roots (proxy/, .);
  2. no include cycle between folders, nor between headers;
  3. no call cycle between files or between folders: the link-level
     graph read from the objects with nm (file A uses a symbol file B
     defines) has no strongly connected component of more than one file;
  4. no field looked up by string (kc_get / kc_field_index) outside the
     codec itself: callers use the generated handles (kafka/fields_gen.h);
  5. no production file over MAX_LINES lines (generated tables excepted).

Prints what it checked and every violation; exits 1 on any.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROD = ['proxy', 'auth', 'acl', 'audit']
INCLUDE_ROOTS = ['proxy', '.']
MAX_LINES = 800
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def rel(p):
    return os.path.relpath(p, ROOT)


def sources(tops, exts=('.c', '.h')):
    out = []
    for top in tops:
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            out += [rel(os.path.join(d, f)) for f in files if f.endswith(exts)]
    return sorted(out)


def folder(path):
    """proxy/kafka/codec.c -> proxy/kafka; auth/sasl.c -> auth."""
    return os.path.dirname(path)


def generated(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as fh:
        return 'GENERATED' in fh.readline()


def resolve(inc):
    for r in INCLUDE_ROOTS:
        p = os.path.normpath(os.path.join(r, inc))
        if os.path.isfile(os.path.join(ROOT, p)):
            return p
    return None


def sccs(graph):
    """Tarjan's strongly connected components of {node: set(nodes)}."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def edge_witness(graph_detail, comp):
    lines = []
    for a in comp:
        for b in comp:
            for why in sorted(graph_detail.get((a, b), ()))[:2]:
                lines.append('    %s -> %s (%s)' % (a, b, why))
    return '\n'.join(lines)


def main():
    problems = []
    prod = sources(PROD)
    tests = sources(['tests'], ('.c',))

    # 1. includes name their folder and resolve
    inc_graph, inc_detail = {}, {}
    hdr_graph = {}
    for f in prod + tests:
        text = open(os.path.join(ROOT, f), encoding='utf-8').read()
        for inc in INCLUDE.findall(text):
            target = resolve(inc) if '/' in inc else None
            if target is None:
                problems.append('%s: #include "%s" does not name its folder or does not '
                                'resolve under %s' % (f, inc, ', '.join(INCLUDE_ROOTS)))
                continue
            if f in prod and target in prod:
                a, b = folder(f), folder(target)
                if a != b:
                    inc_graph.setdefault(a, set()).add(b)
                    inc_detail.setdefault((a, b), set()).add('%s includes %s' % (f, inc))
                if f.endswith('.h'):
                    hdr_graph.setdefault(f, set()).add(target)

    # 2. include cycles
    for comp in sccs(inc_graph):
        problems.append('include cycle between folders %s:\n%s'
                        % (', '.join(comp), edge_witness(inc_detail, comp)))
    for comp in sccs(hdr_graph):
        problems.append('include cycle between headers %s' % ', '.join(comp))

    # 3. call cycles, from the objects
    objs = {}
    for f in prod:
        if f.endswith('.c'):
            o = os.path.join(ROOT, 'build', 'obj', f[:-2] + '.o')
            if not os.path.isfile(o):
                problems.append('%s: no object %s (run make first)' % (f, rel(o)))
                continue
            objs[f] = o
    defined, undefined = {}, {}
    for f, o in objs.items():
        out = subprocess.run(['nm', '-g', o], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == 'U':
                undefined.setdefault(f, set()).add(parts[1])
            elif len(parts) == 3 and parts[1] in 'TDBRCV':
                defined[parts[2]] = f
    file_graph, file_detail, dir_graph, dir_detail = {}, {}, {}, {}
    for f, syms in undefined.items():
        for s in syms:
            g = defined.get(s)
            if not g or g == f:
                continue
            file_graph.setdefault(f, set()).add(g)
            file_detail.setdefault((f, g), set()).add(s)
            a, b = folder(f), folder(g)
            if a != b:
                dir_graph.setdefault(a, set()).add(b)
                dir_detail.setdefault((a, b), set()).add('%s uses %s of %s' % (f, s, g))
    for comp in sccs(file_graph):
        problems.append('call cycle between files %s:\n%s'
                        % (', '.join(comp), edge_witness(file_detail, comp)))
    for comp in sccs(dir_graph):
        problems.append('call cycle between folders %s:\n%s'
                        % (', '.join(comp), edge_witness(dir_detail, comp)))

    # 4. fields by string
    for f in prod:
        if f.startswith('proxy/kafka/'):
            continue
        for n, line in enumerate(open(os.path.join(ROOT, f), encoding='utf-8'), 1):
            if re.search(r'\bkc_(get|field_index)\s*\(', line):
                problems.append('%s:%d: field looked up by string (use a KCF_ handle or '
                                'kc_find): %s' % (f, n, line.strip()))

    # 5. file sizes
    for f in prod:
        n = sum(1 for _ in open(os.path.join(ROOT, f), encoding='utf-8'))
        if n > MAX_LINES and not generated(f):
            problems.append('%s: %d lines (more than %d)' % (f, n, MAX_LINES))

    print('check-layers: %d files, %d folder include edges, %d file call edges, '
          '%d folder call edges' % (len(prod), sum(map(len, inc_graph.values())),
                                    sum(map(len, file_graph.values())),
                                    sum(map(len, dir_graph.values()))))
    if os.environ.get('KG_LAYERS_PRINT'):
        for a in sorted(dir_graph):
            print('  %-14s -> %s' % (a, ', '.join(sorted(dir_graph[a]))))
    for p in problems:
        print('check-layers: ' + p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
