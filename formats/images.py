"""Image training data as MXNet's tools write it: image RecordIO (IRHeader + encoded image per record),
.lst index files, and image sniffing. Shared by Image Classification and Object Detection.

Decoding and augmentation stay in MXNet's C++ iterators; this module only frames, indexes and checks.
It also has small JPEG/PNG writers: the images carry neither OpenCV's nor PIL's Python bindings, and
tests, benchmarks and tools need real encoded files.
"""
import math
import mmap
import os
import struct
import zlib

import numpy as np

from formats import recordio
from formats.batch import FormatError

# mxnet.recordio.IRHeader: flag (number of labels when > 1, else 0), label, id, id2
_IR = struct.Struct("<IfQQ")
IR_SIZE = _IR.size
_FRAME = struct.Struct("<II")
_LEN_MASK = (1 << 29) - 1

JPEG, PNG, BMP = "jpeg", "png", "bmp"


def sniff(data):
    """'jpeg', 'png', 'bmp' or None, from the first bytes."""
    head = bytes(data[:8])
    if head[:3] == b"\xff\xd8\xff":
        return JPEG
    if head == b"\x89PNG\r\n\x1a\n":
        return PNG
    if head[:2] == b"BM":
        return BMP
    return None


# ---- image RecordIO ------------------------------------------------------------------------------
def pack(labels, image, index=0):
    """One record payload as mx.recordio.pack writes it: several labels go after the header."""
    labels = np.atleast_1d(np.asarray(labels, dtype=np.float32))
    if labels.size == 1:
        return _IR.pack(0, float(labels[0]), index, 0) + bytes(image)
    return _IR.pack(labels.size, 0.0, index, 0) + labels.tobytes() + bytes(image)


def unpack(payload):
    """(labels float32 array, id, image bytes) of one record payload."""
    if len(payload) < IR_SIZE:
        raise FormatError("record of %d bytes is shorter than the %d-byte image header" % (len(payload), IR_SIZE))
    flag, label, ident, _ = _IR.unpack_from(payload, 0)
    if flag == 0:
        return np.array([label], dtype=np.float32), ident, payload[IR_SIZE:]
    end = IR_SIZE + 4 * flag
    if len(payload) < end:
        raise FormatError("record header announces %d labels but the record has %d bytes" % (flag, len(payload)))
    return np.frombuffer(bytes(payload[IR_SIZE:end]), dtype=np.float32), ident, payload[end:]


def scan_rec(path):
    """Yield (record number, labels, image kind) for every record of an image .rec file, reading only
    the headers (the file is mapped, images are not copied). FormatError names the record."""
    size = os.path.getsize(path)
    if size == 0:
        return
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mv:
        pos, n = 0, 0
        while pos < size:
            if pos + 8 > size:
                raise FormatError("record %d: truncated header at byte %d" % (n, pos))
            magic, lrec = _FRAME.unpack_from(mv, pos)
            if magic != recordio.MAGIC:
                raise FormatError("record %d: bad RecordIO magic at byte %d (not an image .rec file)" % (n, pos))
            length, cflag = lrec & _LEN_MASK, lrec >> 29
            if pos + 8 + length > size:
                raise FormatError("record %d: truncated (%d bytes announced at byte %d)" % (n, length, pos))
            if cflag in (0, 1):  # a whole record, or the first part of one: it holds the header
                try:
                    labels, _, image = unpack(mv[pos + 8:pos + 8 + min(length, IR_SIZE + 4096)])
                except FormatError as e:
                    raise FormatError("record %d: %s" % (n, e)) from None
                yield n, labels, sniff(image)
            if cflag in (0, 3):
                n += 1
            pos += 8 + length + (-length % 4)


def write_rec(path, payloads):
    """Frame payloads into a .rec file (the dmlc framing mx.recordio.MXRecordIO writes); returns the count."""
    n = 0
    with open(path, "wb") as f:
        for p in payloads:
            f.write(recordio.encode(p))
            n += 1
    return n


# ---- .lst index files ----------------------------------------------------------------------------
def parse_lst(text, label_width=None):
    """[(index, labels, relative path)] from a .lst file: index, label(s), path, tab-separated.
    label_width: the number of label columns each line must have (None: any, at least one)."""
    out = []
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormatError("not UTF-8 text (byte %d)" % e.start) from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cols = line.rstrip("\r").split("\t")
        if len(cols) < 3:
            raise FormatError("line %d: %d tab-separated column%s, need index, label(s) and path: %r"
                              % (lineno, len(cols), "" if len(cols) == 1 else "s", line[:200]))
        try:
            index = int(float(cols[0]))
            labels = [float(c) for c in cols[1:-1]]
        except ValueError:
            raise FormatError("line %d: index and labels must be numbers: %r" % (lineno, line[:200])) from None
        if label_width is not None and len(labels) != label_width:
            raise FormatError("line %d: %d label columns, expected %d" % (lineno, len(labels), label_width))
        path = cols[-1].strip()
        if not path:
            raise FormatError("line %d: empty image path" % lineno)
        out.append((index, labels, path))
    return out


def format_lst(rows):
    """The .lst text for [(index, labels, path)] (what im2rec.py --list writes)."""
    return "".join("%d\t%s\t%s\n" % (i, "\t".join("%f" % float(x) for x in np.atleast_1d(lab)), p)
                   for i, lab, p in rows)


# ---- writers (tests, benchmarks, tools) ------------------------------------------------------------
def encode_png(pixels):
    """Lossless PNG of a (h, w) gray or (h, w, 3) RGB uint8 array."""
    a = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = a.shape[:2]
    ctype = 0 if a.ndim == 2 else 2
    raw = np.concatenate([np.zeros((h, 1), np.uint8), a.reshape(h, -1)], axis=1).tobytes()

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


_ZIGZAG = np.array(sorted(((u, v) for u in range(8) for v in range(8)),
                          key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else p[1])))
_ZZ = _ZIGZAG[:, 0] * 8 + _ZIGZAG[:, 1]
_LUMA_Q = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64)
_DCT = np.array([[(math.sqrt(0.125) if u == 0 else 0.5) * math.cos((2 * x + 1) * u * math.pi / 16)
                  for x in range(8)] for u in range(8)])
# Huffman tables: every DC category a 4-bit code, every AC symbol an 8-bit code. Valid baseline JPEG
# (no all-ones code), just not the smallest; simple enough to be obviously right.
_DC_SYMS = list(range(12))
_AC_SYMS = [0x00, 0xF0] + [(r << 4) | s for r in range(16) for s in range(1, 11)]
_AC_CODE = {s: i for i, s in enumerate(_AC_SYMS)}
_AC_SORTED = np.array(sorted(_AC_SYMS))
_AC_INDEX = np.array([_AC_CODE[s] for s in sorted(_AC_SYMS)])


def _category(v):
    """JPEG's magnitude category (bit length of |v|) and the value's bits, elementwise."""
    a = np.abs(v)
    s = np.zeros(v.shape, dtype=np.int64)
    nz = a > 0
    s[nz] = np.floor(np.log2(a[nz])).astype(np.int64) + 1
    return s, np.where(v >= 0, v, v + (1 << s) - 1)


def _entropy_code(zz, ncomp):
    """The entropy-coded scan of zigzagged blocks in MCU order (rows of zz), byte-stuffed.

    Each block becomes items (DC; per nonzero AC: ZRLs + symbol + bits; EOB) as (value, bit length),
    ordered by (block, position), then expanded to bits at once: no per-coefficient Python."""
    nblk = zz.shape[0]
    dc = zz[:, 0].reshape(-1, ncomp)
    diff = np.diff(np.vstack([np.zeros((1, ncomp), np.int64), dc]), axis=0).reshape(-1)
    s, bits = _category(diff)
    rows, pos = [np.arange(nblk)], [np.full(nblk, -1)]
    vals, lens = [(s << s) | bits], [4 + s]
    r, c = np.nonzero(zz[:, 1:])
    c = c + 1
    if len(r):
        first = np.r_[True, r[1:] != r[:-1]]
        prev = np.where(first, 0, np.r_[0, c[:-1]])
        run = c - prev - 1
        zrl, run = run // 16, run % 16
        s, bits = _category(zz[r, c])
        sym = np.searchsorted(_AC_SORTED, (run << 4) | s)
        code = _AC_INDEX[sym]
        zrl_code = np.array([0, 1, 0x101, 0x10101])[zrl] * _AC_CODE[0xF0]
        rows.append(r)
        pos.append(c)
        vals.append((((zrl_code << 8) | code) << s) | bits)
        lens.append(8 * zrl + 8 + s)
    last = np.zeros(nblk, np.int64)
    if len(r):
        last[r] = c  # the last write per row wins: its largest nonzero position
    eob = np.flatnonzero(last != 63)
    rows.append(eob)
    pos.append(np.full(len(eob), 64))
    vals.append(np.full(len(eob), _AC_CODE[0x00]))
    lens.append(np.full(len(eob), 8))
    rows, pos, vals, lens = (np.concatenate(x).astype(np.int64) for x in (rows, pos, vals, lens))
    order = np.lexsort((pos, rows))
    vals, lens = vals[order], lens[order]
    total = int(lens.sum())
    item = np.repeat(np.arange(len(lens)), lens)
    offset = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    bitstream = (vals[item] >> (lens[item] - 1 - offset)) & 1
    pad = -total % 8
    packed = np.packbits(np.concatenate([bitstream, np.ones(pad, np.int64)]).astype(np.uint8))
    ff = np.flatnonzero(packed == 0xFF)
    return np.insert(packed, ff + 1, 0).tobytes()


def encode_jpeg(pixels, quality=90):
    """Baseline JPEG (4:4:4) of a (h, w) gray or (h, w, 3) RGB uint8 array."""
    a = np.asarray(pixels, dtype=np.float64)
    h, w = a.shape[:2]
    if a.ndim == 2:
        planes = [a]
    else:
        r, g, b = a[..., 0], a[..., 1], a[..., 2]
        planes = [0.299 * r + 0.587 * g + 0.114 * b,
                  -0.168736 * r - 0.331264 * g + 0.5 * b + 128,
                  0.5 * r - 0.418688 * g - 0.081312 * b + 128]
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    q = np.clip(np.floor((_LUMA_Q * scale + 50) / 100), 1, 255)
    ph, pw = -h % 8, -w % 8
    coefs = []
    for p in planes:
        p = np.pad(p, ((0, ph), (0, pw)), mode="edge") - 128.0
        blocks = p.reshape(p.shape[0] // 8, 8, p.shape[1] // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
        d = (_DCT @ blocks @ _DCT.T).reshape(-1, 64)
        coefs.append(np.round(d / q).astype(np.int64)[:, _ZZ])
    data = _entropy_code(np.stack(coefs, axis=1).reshape(-1, 64), len(planes))
    def seg(marker, data):
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    nc = len(planes)
    dc_counts = bytes([0, 0, 0, len(_DC_SYMS)] + [0] * 12)
    ac_counts = bytes([0] * 7 + [len(_AC_SYMS)] + [0] * 8)
    header = (b"\xff\xd8" + seg(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0")
              + seg(0xDB, b"\0" + bytes(q.astype(np.uint8)[_ZZ].tolist()))
              + seg(0xC0, struct.pack(">BHHB", 8, h, w, nc) + b"".join(bytes([i + 1, 0x11, 0]) for i in range(nc)))
              + seg(0xC4, b"\x00" + dc_counts + bytes(_DC_SYMS) + b"\x10" + ac_counts + bytes(_AC_SYMS))
              + seg(0xDA, bytes([nc]) + b"".join(bytes([i + 1, 0x00]) for i in range(nc)) + b"\x00\x3f\x00"))
    return header + data + b"\xff\xd9"
