#!/usr/bin/env python3
"""fake_broker.py - a one-node Kafka "broker" that answers ApiVersions,
Metadata, Produce and Fetch with canned, valid responses, for the
instruction-count replay (replay.py). It is never measured itself.

    fake_broker.py --port P --topic-id HEX [--fetch-bytes N]
"""
import argparse
import socket
import socketserver
import struct
import threading

from kwire import (TAGS0, boolean, carray, cbytes, cstr, i16, i32, i64, read_uvarint,
                   record_batch, uvarint)

API_RANGES = {0: (3, 11), 1: (4, 17), 3: (0, 12), 18: (0, 4)}


def api_versions_body(ver):
    if ver >= 3:
        keys = [i16(k) + i16(lo) + i16(hi) + TAGS0 for k, (lo, hi) in sorted(API_RANGES.items())]
        return i16(0) + carray(keys) + i32(0) + TAGS0
    keys = b''.join(i16(k) + i16(lo) + i16(hi) for k, (lo, hi) in sorted(API_RANGES.items()))
    body = i16(0) + i32(len(API_RANGES)) + keys
    return body + (i32(0) if ver >= 1 else b'')


class Broker:
    def __init__(self, port, topic, topic_id, fetch_bytes):
        self.port = port
        self.topic = topic
        self.topic_id = topic_id
        batch = record_batch(16, 1000)
        n = max(1, fetch_bytes // len(batch))
        self.records = batch * n

    def metadata_body(self):
        part = (i16(0) + i32(0) + i32(1) + i32(0) + carray([i32(1)]) + carray([i32(1)]) +
                carray([]) + TAGS0)
        topic = (i16(0) + cstr(self.topic) + self.topic_id + boolean(False) +
                 carray([part]) + i32(-2147483648) + TAGS0)
        broker = i32(1) + cstr('127.0.0.1') + i32(self.port) + cstr(None) + TAGS0
        return i32(0) + carray([broker]) + cstr('replay-cluster') + i32(1) + carray([topic]) + TAGS0

    def produce_body(self, ver):
        part = (i32(0) + i16(0) + i64(100) + i64(-1) + i64(0) + carray([]) + cstr(None) +
                TAGS0)
        return carray([cstr(self.topic) + carray([part]) + TAGS0]) + i32(0) + TAGS0

    def fetch_body(self, ver):
        part = (i32(0) + i16(0) + i64(1000) + i64(1000) + i64(0) + carray(None) + i32(-1) +
                cbytes(self.records) + TAGS0)
        topic = (self.topic_id if ver >= 13 else cstr(self.topic)) + carray([part]) + TAGS0
        return i32(0) + i16(0) + i32(0) + carray([topic]) + TAGS0

    def answer(self, req):
        key, ver, corr = struct.unpack('>hhi', req[:8])
        if key == 18:
            return i32(corr) + api_versions_body(ver if ver <= 4 else 0)
        hdr = i32(corr) + TAGS0             # every other API here is flexible
        if key == 3:
            return hdr + self.metadata_body()
        if key == 0:
            # acks=0 gets no answer: find Acks after the header
            pos = 8
            cid_len = struct.unpack('>h', req[pos:pos + 2])[0]
            pos += 2 + max(cid_len, 0)
            ntags, pos = read_uvarint(req, pos)
            tid_len, pos = read_uvarint(req, pos)
            pos += max(tid_len - 1, 0)
            acks = struct.unpack('>h', req[pos:pos + 2])[0]
            return None if acks == 0 else hdr + self.produce_body(ver)
        if key == 1:
            return hdr + self.fetch_body(ver)
        raise ValueError('api %d not served' % key)


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--topic', default='replay')
    ap.add_argument('--topic-id', required=True)
    ap.add_argument('--fetch-bytes', type=int, default=65536)
    args = ap.parse_args()
    broker = Broker(args.port, args.topic, bytes.fromhex(args.topic_id), args.fetch_bytes)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            s = self.request
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                while True:
                    size = struct.unpack('>i', recv_exact(s, 4))[0]
                    resp = broker.answer(recv_exact(s, size))
                    if resp is not None:
                        s.sendall(i32(len(resp)) + resp)
            except (EOFError, ConnectionError):
                pass

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    srv = socketserver.ThreadingTCPServer(('127.0.0.1', args.port), Handler)
    srv.daemon_threads = True
    print('fake broker on %d' % args.port, flush=True)
    srv.serve_forever()


if __name__ == '__main__':
    main()
