"""(entity, IPv4) pairs: parsing CSV lines and JSON instances, hashing entities and IP prefixes.

Shared by training and serving, so both hash the same way. Entities hash with CRC-32 (stable across
processes and machines, unlike Python's hash()); an IPv4 address becomes the buckets of its /8, /16,
/24 and /32 prefixes, whose embeddings the network sums: addresses in one subnet share most of their
representation, which is the prefix structure the guide's encoder exploits.
"""
import zlib

import numpy as np

PREFIXES = (8, 16, 24, 32)
# Rows of the IP embedding table per prefix length: /8 and /16 exactly, longer prefixes hashed.
BUCKETS = (256, 65536, 32768, 32768)
OFFSETS = tuple(int(x) for x in np.cumsum((0,) + BUCKETS[:-1]))
IP_ROWS = sum(BUCKETS)


class PairError(ValueError):
    """A line or instance that is not an (entity, dotted-quad IPv4) pair; `index` is 0-based."""

    def __init__(self, index, message):
        super().__init__(message)
        self.index = index


def entity_buckets(entities, num_entity_vectors):
    """CRC-32 of each entity's UTF-8 bytes, modulo num_entity_vectors (uniques hashed once)."""
    arr = np.asarray(entities, dtype=object)
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, inverse = np.unique(arr, return_inverse=True)
    hashed = np.fromiter((zlib.crc32(u if isinstance(u, bytes) else u.encode("utf-8")) for u in uniq),
                         dtype=np.int64, count=len(uniq))
    return (hashed % num_entity_vectors)[inverse]


def ip_buckets(ips):
    """(n, 4) rows of the IP embedding table for uint32 addresses: one per prefix length."""
    ips = np.asarray(ips, dtype=np.uint64)
    out = np.empty((len(ips), len(PREFIXES)), dtype=np.int64)
    for j, (bits, size, off) in enumerate(zip(PREFIXES, BUCKETS, OFFSETS)):
        prefix = ips >> np.uint64(32 - bits)
        if size < (1 << bits):  # Knuth's multiplicative hash spreads neighbouring prefixes
            prefix = (prefix * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
            prefix = prefix % np.uint64(size)
        out[:, j] = prefix.astype(np.int64) + off
    return out


def parse_ips(ips):
    """Dotted quads (bytes or str) -> uint32 array; PairError naming the first bad one (0-based)."""
    n = len(ips)
    parts = [p if isinstance(p, bytes) else str(p).encode("utf-8", "replace") for p in ips]
    octets = b".".join(p.strip() for p in parts).split(b".")
    ok = len(octets) == 4 * n
    if ok and n:
        arr = np.array(octets, dtype=np.bytes_)
        ok = bool(np.char.isdigit(arr).all()) and bool((np.char.str_len(arr) <= 3).all())
        if ok:
            vals = arr.astype(np.int64).reshape(n, 4)
            ok = bool((vals <= 255).all())
    if not ok:
        for i, ip in enumerate(ips):
            _one_ip(ip, i)
        raise PairError(0, "malformed IPv4 addresses")
    if n == 0:
        return np.zeros(0, dtype=np.uint32)
    return ((vals[:, 0] << 24) | (vals[:, 1] << 16) | (vals[:, 2] << 8) | vals[:, 3]).astype(np.uint32)


def _one_ip(ip, index):
    text = ip.decode("utf-8", "replace") if isinstance(ip, bytes) else str(ip)
    parts = text.strip().split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        raise PairError(index, "%r is not an IPv4 address in dotted-quad notation" % text.strip())


def split_csv(data, first_line=1):
    """CSV bytes of `entity, ip` lines -> (entities as bytes, ips as bytes); PairError with a 0-based line
    offset from first_line. Blank lines are skipped; spaces around the comma are tolerated."""
    lines = data.split(b"\n")
    entities, ips, where = [], [], []
    for i, line in enumerate(lines):
        line = line.strip()
        if not line:
            continue
        fields = line.split(b",")
        if len(fields) != 2:
            raise PairError(i, "expected 2 columns (entity, IPv4 address), found %d" % len(fields))
        e = fields[0].strip()
        if not e:
            raise PairError(i, "empty entity")
        entities.append(e)
        ips.append(fields[1])
        where.append(i)
    try:
        addresses = parse_ips(ips)
    except PairError as err:
        raise PairError(where[err.index] if err.index < len(where) else err.index, str(err)) from None
    return entities, addresses


def from_instances(instances):
    """JSON instances ({"features": [e, ip]} or {"data": {"features": {"values": [e, ip]}}}) -> pairs."""
    entities, ips = [], []
    for i, inst in enumerate(instances):
        values = None
        if isinstance(inst, dict):
            if "features" in inst:
                values = inst["features"]
            elif isinstance(inst.get("data"), dict) and isinstance(inst["data"].get("features"), dict):
                values = inst["data"]["features"].get("values")
        elif isinstance(inst, list):
            values = inst
        if not isinstance(values, list) or len(values) != 2 or not all(isinstance(v, str) for v in values):
            raise PairError(i, "instance %d: expected features [entity, IPv4 address] as two strings" % i)
        entities.append(values[0].strip().encode("utf-8"))
        ips.append(values[1])
    return entities, parse_ips(ips)
