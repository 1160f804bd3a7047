#!/usr/bin/env python3
"""replay.py - sends a fixed sequence of requests through kafka-gateway,
one at a time (each waits for its answer), so that the gateway does the
same work on every run: the input of the instruction-count measurement
(callgrind.sh).

    replay.py --port P --topic-id HEX --kind produce-v9 --count N
"""
import argparse
import socket
import struct

from kwire import (TAGS0, carray, cbytes, cstr, frame, i8, i16, i32, i64, record_batch,
                   request_header_v2)

KINDS = {
    # name: (api key, version)
    'produce-v9': (0, 9),
    'produce-v11': (0, 11),
    'fetch-v12': (1, 12),
    'fetch-v16': (1, 16),
    'metadata-v12': (3, 12),
}


def produce_body(topic, records):
    part = i32(0) + cbytes(records) + TAGS0
    return cstr(None) + i16(-1) + i32(30000) + carray([cstr(topic) + carray([part]) + TAGS0]) + TAGS0


def fetch_body(ver, topic, topic_id):
    part = i32(0) + i32(-1) + i64(0) + i32(-1) + i64(-1) + i32(1 << 20) + TAGS0
    t = (topic_id if ver >= 13 else cstr(topic)) + carray([part]) + TAGS0
    head = (b'' if ver >= 15 else i32(-1)) + i32(500) + i32(1) + i32(1 << 20) + i8(0) + i32(0) + i32(-1)
    return head + carray([t]) + carray([]) + cstr('') + TAGS0


def metadata_body(topic):
    return carray([b'\x00' * 16 + cstr(topic) + TAGS0]) + b'\x00' + b'\x00' + TAGS0


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise SystemExit('gateway closed the connection')
        buf += chunk
    return bytes(buf)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--topic', default='replay')
    ap.add_argument('--topic-id', required=True)
    ap.add_argument('--kind', choices=sorted(KINDS), required=True)
    ap.add_argument('--count', type=int, required=True)
    ap.add_argument('--batch-bytes', type=int, default=16384)
    args = ap.parse_args()
    key, ver = KINDS[args.kind]
    if key == 0:
        body = produce_body(args.topic, record_batch(max(1, args.batch_bytes // 1024), 1000))
    elif key == 1:
        body = fetch_body(ver, args.topic, bytes.fromhex(args.topic_id))
    else:
        body = metadata_body(args.topic)
    s = socket.create_connection(('127.0.0.1', args.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for corr in range(args.count):
        s.sendall(frame(request_header_v2(key, ver, corr) + body))
        size = struct.unpack('>i', recv_exact(s, 4))[0]
        resp = recv_exact(s, size)
        if struct.unpack('>i', resp[:4])[0] != corr:
            raise SystemExit('answer out of order')
    s.close()


if __name__ == '__main__':
    main()
