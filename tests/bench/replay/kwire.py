"""kwire.py - the few Kafka wire encodings the replay needs (Python only).

Flexible (compact) encodings only, plus the ApiVersions v0-2 shapes a
gateway may ask for; just enough to speak Produce, Fetch, Metadata and
ApiVersions with kafka-gateway. Not a general client.
"""
import struct


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_uvarint(buf, pos):
    shift = val = 0
    while True:
        b = buf[pos]
        pos += 1
        val |= (b & 0x7F) << shift
        if not b & 0x80:
            return val, pos
        shift += 7


def i8(v): return struct.pack('>b', v)
def i16(v): return struct.pack('>h', v)
def i32(v): return struct.pack('>i', v)
def i64(v): return struct.pack('>q', v)
def boolean(v): return b'\x01' if v else b'\x00'
TAGS0 = b'\x00'                      # no tagged fields


def cstr(s):
    """Compact nullable string."""
    if s is None:
        return b'\x00'
    b = s.encode()
    return uvarint(len(b) + 1) + b


def cbytes(b):
    if b is None:
        return b'\x00'
    return uvarint(len(b) + 1) + b


def carray(items):
    """Compact array of already-encoded items."""
    if items is None:
        return b'\x00'
    return uvarint(len(items) + 1) + b''.join(items)


def frame(payload):
    return i32(len(payload)) + payload


def request_header_v2(key, ver, corr, client_id='kg-replay'):
    cid = client_id.encode()
    return i16(key) + i16(ver) + i32(corr) + i16(len(cid)) + cid + TAGS0


def request_header_v1(key, ver, corr, client_id='kg-replay'):
    cid = client_id.encode()
    return i16(key) + i16(ver) + i32(corr) + i16(len(cid)) + cid


def record_batch(nrecords, value_size, base_offset=0):
    """A magic-2 record batch of nrecords records with value_size-byte
    values (CRC left zero: nothing on this path checks it)."""
    recs = bytearray()
    for i in range(nrecords):
        body = (b'\x00' + zigzag(0) + zigzag(i) + zigzag(-1) +
                zigzag(value_size) + bytes([0x61 + i % 26]) * value_size + zigzag(0))
        recs += zigzag(len(body)) + body
    after_len = (i32(0) + i8(2) + i32(0) + i16(0) + i32(nrecords - 1) +
                 i64(0) + i64(0) + i64(-1) + i16(-1) + i32(-1) + i32(nrecords) + bytes(recs))
    # partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta, first/max
    # timestamps, producerId, producerEpoch, baseSequence, record count
    return i64(base_offset) + i32(len(after_len)) + after_len


def zigzag(n):
    return uvarint((n << 1) ^ (n >> 63))
