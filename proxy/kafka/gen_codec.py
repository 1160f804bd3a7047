#!/usr/bin/env python3
"""gen_codec.py - generate the codec tables and names from Kafka's JSON
message definitions.

  --out     proxy/kafka/codec_gen.c: every request/response body (and, for
            reference, the header and "data" messages) as kc_struct/kc_field
            trees, which proxy/kafka/codec.c walks at run time;
  --header  proxy/kafka/fields_gen.h: the API-key enum, the field-name enum
            and a handle per field (KCF_<Message>_<path>) so that callers
            name fields at compile time (kc_at), never by string.
See proxy/kafka/codec-t.h for the C model.

Usage:
    gen_codec.py --defs DIR_OR_JAR [--defs DIR_OR_JAR ...] --out FILE --header FILE

Each --defs is a directory of *.json files or a jar/zip holding
common/message/*.json.  Later inputs override earlier ones per
(apiKey, type) - or per name for messages without an apiKey - so the newest
definitions win (e.g. api 74 ListClientMetricsResources -> ListConfigResources).

Python 3 standard library only; the output is deterministic.
"""

import argparse
import json
import os
import re
import sys
import zipfile

INT16_MAX = 32767
NONE_RANGE = (1, 0)          # min > max: no version

PRIMS = {
    'bool': 'KC_BOOL', 'int8': 'KC_INT8', 'int16': 'KC_INT16',
    'uint16': 'KC_UINT16', 'int32': 'KC_INT32', 'uint32': 'KC_UINT32',
    'int64': 'KC_INT64', 'float64': 'KC_FLOAT64', 'uuid': 'KC_UUID',
    'string': 'KC_STRING', 'bytes': 'KC_BYTES', 'records': 'KC_RECORDS',
}
INT_TYPES = ('bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64')
ENTITIES = {
    'topicName': 'KC_ENT_TOPIC_NAME', 'groupId': 'KC_ENT_GROUP_ID',
    'transactionalId': 'KC_ENT_TXN_ID', 'brokerId': 'KC_ENT_BROKER_ID',
    'producerId': 'KC_ENT_PRODUCER_ID',
}
LISTENER_BITS = {'broker': 1, 'controller': 2, 'zkBroker': 4}


def fail(msg):
    sys.exit('gen_codec.py: ' + msg)


def strip_comments(text):
    """Remove // line comments that are outside JSON strings."""
    out = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == '\\' and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif c == '/' and text.startswith('//', i):
            while i < n and text[i] != '\n':
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return ''.join(out)


def parse_range(s, what):
    """Kafka version spec -> (min, max)."""
    if s is None:
        return NONE_RANGE
    s = str(s).strip()
    if s == 'none':
        return NONE_RANGE
    m = re.fullmatch(r'(\d+)\+', s)
    if m:
        return (int(m.group(1)), INT16_MAX)
    m = re.fullmatch(r'(\d+)-(\d+)', s)
    if m:
        return (int(m.group(1)), int(m.group(2)))
    m = re.fullmatch(r'(\d+)', s)
    if m:
        return (int(s), int(s))
    fail('bad version range %r in %s' % (s, what))


def load_inputs(paths):
    """Read all defs; later inputs override earlier ones. Returns
    (messages by key, labels of the inputs)."""
    msgs = {}
    labels = []
    for p in paths:
        files = []
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                if name.endswith('.json'):
                    with open(os.path.join(p, name), encoding='utf-8') as fh:
                        files.append((name, fh.read()))
            labels.append(os.path.basename(os.path.normpath(p)))
        elif zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                for name in sorted(z.namelist()):
                    if (name.startswith('common/message/')
                            and name.endswith('.json')):
                        files.append((name, z.read(name).decode('utf-8')))
            labels.append(os.path.basename(p))
        else:
            fail('%s: not a directory or jar' % p)
        if not files:
            fail('%s: no message definitions' % p)
        for name, text in files:
            try:
                d = json.loads(strip_comments(text))
            except ValueError as e:
                fail('%s in %s: %s' % (name, p, e))
            if 'apiKey' in d:
                key = (d['apiKey'], d['type'])
            else:
                key = (d['name'], d['type'])
            msgs[key] = d
    return msgs, labels


def c_str(s):
    if s is None:
        return 'NULL'
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def c_range(r):
    return '{%d, %d}' % r


def norm_default(ftype, d):
    """Normalise a JSON default: (text for kc_field.def, int value)."""
    if d is None:
        return None, 0
    if isinstance(d, bool):
        d = 'true' if d else 'false'
    d = str(d)
    if ftype == 'bool':
        v = d.strip().lower()
        if v not in ('true', 'false'):
            fail('bad bool default %r' % d)
        return v, 1 if v == 'true' else 0
    if ftype in INT_TYPES:
        v = int(d, 0)
        return str(v), v
    return d, 0


class Gen:
    """Builds deduplicated C tables for kc_struct/kc_field."""

    def __init__(self, names):
        self.lines = []
        self.struct_ids = {}     # canonical key -> C name
        self.nstructs = 0
        self.names = names       # field name -> KCN_ id (1-based)
        self.consts = []         # (KCF_ path, struct number, field index)

    def emit_struct(self, name, fields, ctx, path, depth=0):
        """Emit the field table and struct for `fields`; returns C name.
        path names the struct for the KCF_ constants of its fields
        (message name, then the field names leading to it)."""
        if depth > 64:
            fail('%s: struct nesting too deep (cycle?)' % ctx['msg'])
        rows = []
        for f in fields:
            rows.append(self.field_row(f, ctx, path + '_' + f['name'], depth))
        key = (name, tuple(rows))
        if key in self.struct_ids:
            sid = self.struct_ids[key]
        else:
            sid = 's_%d' % self.nstructs
            self.nstructs += 1
            self.struct_ids[key] = sid
            self.emit_tables(sid, name, rows)
        num = int(sid[2:]) + 1          # 0 is no struct: KCF_NONE
        if len(rows) > 255:
            fail('%s: more than 255 fields' % path)
        for i, f in enumerate(fields):
            self.consts.append(('KCF_%s_%s' % (path, f['name']), num, i))
        return sid

    def emit_tables(self, sid, name, rows):
        if rows:
            self.lines.append('static const struct kc_field %s_f[] = {' % sid)
            for r in rows:
                self.lines.append('\t{%s},' % ', '.join(r))
            self.lines.append('};')
            ftab = '%s_f' % sid
        else:
            ftab = 'NULL'
        self.lines.append('static const struct kc_struct %s = {%s, %d, %d, %s};'
                          % (sid, c_str(name), int(sid[2:]) + 1, len(rows), ftab))

    def field_row(self, f, ctx, path, depth):
        what = '%s.%s' % (ctx['msg'], f.get('name'))
        t = f['type']
        sub = 'NULL'
        elem = '0'
        base = t
        if t.startswith('[]'):
            base = t[2:]
            ctype = 'KC_ARRAY'
        if base in PRIMS:
            if t.startswith('[]'):
                elem = PRIMS[base]
            else:
                ctype = PRIMS[base]
        else:
            if not t.startswith('[]'):
                ctype = 'KC_STRUCT'
            else:
                elem = 'KC_STRUCT'
            if 'fields' in f:
                sfields = f['fields']
            elif base in ctx['common']:
                sfields = ctx['common'][base]
            else:
                fail('%s: unknown type %s' % (what, t))
            sub = '&' + self.emit_struct(base, sfields, ctx, path, depth + 1)
        ent = ENTITIES.get(f.get('entityType'), 'KC_ENT_NONE')
        if f.get('entityType') and f['entityType'] not in ENTITIES:
            fail('%s: unknown entityType %s' % (what, f['entityType']))
        if base == 'uuid' and f['name'] == 'TopicId':
            ent = 'KC_ENT_TOPIC_ID'
        versions = parse_range(f.get('versions'), what)
        nullable = parse_range(f.get('nullableVersions'), what)
        tagged = parse_range(f.get('taggedVersions'), what)
        tag = f.get('tag', -1)
        if (tag >= 0) != (tagged != NONE_RANGE):
            fail('%s: tag and taggedVersions must come together' % what)
        if 'flexibleVersions' in f:
            flex = parse_range(f['flexibleVersions'], what)
        else:
            flex = ctx['flex']
        dtext, dint = norm_default(base if not t.startswith('[]') else t,
                                   f.get('default'))
        flags = 'KC_FIELD_ERROR_CODE' if (t == 'int16' and f['name'].endswith('ErrorCode')) else '0'
        return (c_str(f['name']), 'KCN_' + f['name'], flags, ctype, elem, ent, str(tag),
                c_range(versions), c_range(nullable), c_range(tagged),
                c_range(flex), c_str(dtext), '%dLL' % dint if dint < 0
                else '%d' % dint, sub)


def message_struct(gen, d):
    ctx = {
        'msg': d['name'],
        'flex': parse_range(d.get('flexibleVersions', 'none'), d['name']),
        'common': {c['name']: c['fields'] for c in d.get('commonStructs', [])},
    }
    return gen.emit_struct(d['name'], d.get('fields', []), ctx, d['name'])


def api_name(d):
    n = d['name']
    for suf in ('Request', 'Response'):
        if n.endswith(suf):
            return n[:-len(suf)]
    return n


def field_names(msgs):
    """Every field name of every message (nested and common structs too)."""
    names = set()

    def walk(fields):
        for f in fields:
            names.add(f['name'])
            walk(f.get('fields', []))
    for d in msgs.values():
        walk(d.get('fields', []))
        for c in d.get('commonStructs', []):
            walk(c.get('fields', []))
    return sorted(names)


def upper_snake(name):
    """ApiVersions -> API_VERSIONS, DescribeTopicPartitions -> ..."""
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', name).upper()


def generate(msgs, labels):
    names = field_names(msgs)
    gen = Gen(names)
    mlines = []
    apis = {}
    others = []

    def emit_message(cname, d, key):
        sid = message_struct(gen, d)
        valid = parse_range(d.get('validVersions'), d['name'])
        flex = parse_range(d.get('flexibleVersions', 'none'), d['name'])
        mlines.append('static const struct kc_message %s = {%s, %d, %s, %s, '
                      '%s, &%s};' % (cname, c_str(d['name']), key,
                                     c_range(valid), c_range(flex),
                                     'true' if d.get('latestVersionUnstable')
                                     else 'false', sid))

    def sort_key(item):
        k = item[0]
        return (isinstance(k[0], str), str(k[0]).zfill(6), k[1])

    for (k, typ), d in sorted(msgs.items(), key=sort_key):
        if typ in ('request', 'response') and isinstance(k, int):
            cname = 'm_%s_%d' % (typ, k)
            emit_message(cname, d, k)
            a = apis.setdefault(k, {})
            a[typ] = cname
            if typ == 'request':
                a['name'] = api_name(d)
                bits = 0
                for l in d.get('listeners', []):
                    if l not in LISTENER_BITS:
                        fail('%s: unknown listener %s' % (d['name'], l))
                    bits |= LISTENER_BITS[l]
                a['listeners'] = bits
        else:
            cname = 'm_other_%d' % len(others)
            emit_message(cname, d, -1)
            others.append((d['name'], cname))

    out = []
    out.append('/* GENERATED by proxy/kafka/gen_codec.py from Kafka %s '
               'message definitions - DO NOT EDIT */' % ' + '.join(labels))
    out.append('#include "kafka/codec.h"')
    out.append('')
    out.extend(gen.lines)
    out.append('')
    out.extend(mlines)
    out.append('')
    out.append('const struct kc_api kc_apis[] = {')
    for k in sorted(apis):
        a = apis[k]
        if 'request' not in a or 'response' not in a:
            fail('api %d lacks a request or a response' % k)
        out.append('\t{%d, %s, &%s, &%s, %d},' % (
            k, c_str(a['name']), a['request'], a['response'], a['listeners']))
    out.append('};')
    out.append('const size_t kc_napis = sizeof(kc_apis) / sizeof(kc_apis[0]);')
    out.append('')
    out.append('/* Headers and "data" messages, sorted by name. */')
    out.append('const struct kc_message *const kc_other_msgs[] = {')
    for name, cname in sorted(others):
        out.append('\t&%s,' % cname)
    out.append('};')
    out.append('const size_t kc_nother_msgs = '
               'sizeof(kc_other_msgs) / sizeof(kc_other_msgs[0]);')
    out.append('')
    out.append('/* Field names, indexed by enum kc_name. */')
    out.append('const char *const kc_names[] = {')
    out.append('\tNULL,')
    for n in names:
        out.append('\t%s,' % c_str(n))
    out.append('};')
    return '\n'.join(out) + '\n', header(apis, names, gen.consts, labels)


def header(apis, names, consts, labels):
    """fields_gen.h: API keys, field names and field handles, so callers
    name what they touch at compile time instead of by string."""
    h = []
    h.append('/* GENERATED by proxy/kafka/gen_codec.py from Kafka %s message '
             'definitions - DO NOT EDIT */' % ' + '.join(labels))
    h.append('#ifndef KG_KAFKA_FIELDS_GEN_H')
    h.append('#define KG_KAFKA_FIELDS_GEN_H')
    h.append('')
    h.append('/* Every API key of the definitions. */')
    h.append('enum kc_api_key {')
    for k in sorted(apis):
        h.append('\tKC_API_%s = %d,' % (upper_snake(apis[k]['name']), k))
    h.append('};')
    h.append('#define KC_API_KEY_MAX %d' % max(apis))
    h.append('')
    h.append('/* Every field name of the definitions (kc_field.name_id), for code')
    h.append(' * that looks a field up in structs of several messages: kc_find(). */')
    h.append('enum kc_name {')
    h.append('\tKCN_NONE = 0,')
    for i, n in enumerate(names):
        h.append('\tKCN_%s = %d,' % (n, i + 1))
    h.append('\tKCN_COUNT = %d' % (len(names) + 1))
    h.append('};')
    h.append('')
    h.append('/* Field handles for kc_at(): <message>_<field path>. The value is the')
    h.append(' * struct number (kc_struct.id) << 8 | the field\'s index, so that a')
    h.append(' * handle used on a struct of another shape finds nothing. */')
    h.append('enum kc_field_handle {')
    h.append('\tKCF_NONE = 0,                  /* no field */')
    seen = {}
    for c, num, idx in consts:
        v = (num << 8) | idx
        if c in seen:
            if seen[c] != v:
                fail('%s: two values' % c)
            continue
        seen[c] = v
        h.append('\t%s = 0x%x,' % (c, v))
    h.append('};')
    h.append('')
    h.append('#endif')
    return '\n'.join(h) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--defs', action='append', required=True,
                    help='directory of *.json or kafka-clients jar; '
                    'later ones override earlier ones')
    ap.add_argument('--out', required=True, help='output C file (tables)')
    ap.add_argument('--header', required=True,
                    help='output header (API keys, field names and handles)')
    args = ap.parse_args()
    msgs, labels = load_inputs(args.defs)
    text, htext = generate(msgs, labels)
    for path, t in ((args.out, text), (args.header, htext)):
        tmp = path + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as fh:
            fh.write(t)
        os.replace(tmp, path)


if __name__ == '__main__':
    main()
