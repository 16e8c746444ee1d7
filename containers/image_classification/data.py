"""Training channels -> one local image .rec file per channel, checked, for MXNet's ImageRecordIter.

Every input form ends as image RecordIO so that one C++ iterator decodes and augments all of them the
same way: a .rec (File) is used where it lies; a .rec streamed through Pipe is spooled once; images
with a .lst index are framed into a .rec as im2rec does (bytes copied, not re-encoded); an augmented
manifest (RecordIO-wrapped source-ref + class pairs) is framed likewise. Headers are scanned once
here so that bad input is a ClientError naming the file and record or line before training starts.
"""
import json
import os
import shutil

import numpy as np

from contract.errors import ClientError
from formats import images, recordio
from formats.batch import FormatError

REC_TYPES = ("application/x-recordio", "application/x-recordio-protobuf")
IMAGE_TYPES = ("application/x-image", "image/jpeg", "image/png")
CHUNK = 8 << 20


class RecFile:
    """A local image .rec: its path, record count and labels (n, label_width)."""

    def __init__(self, path, count, labels):
        self.path, self.count, self.labels = path, count, labels


def prepare(job, name, workdir, num_classes, multi_label):
    """The channel `name` (train or validation) as a checked RecFile."""
    channel = job.channel(name)
    ctype = channel.content_type
    if ctype in REC_TYPES:
        path = _rec_path(channel, workdir, num_classes)
    elif ctype in IMAGE_TYPES:
        if channel.is_pipe:
            raise ClientError("channel %s: images (%s) are read in File mode; for Pipe mode use RecordIO "
                              "(a .rec file or an augmented manifest)" % (name, ctype))
        lst = job.channel(name + "_lst")
        if lst is None:
            raise ClientError("channel %s holds images (%s): the %s_lst channel with a .lst file is required"
                              % (name, ctype, name))
        path = _pack_lst(channel, lst, workdir, num_classes, multi_label)
    else:
        raise ClientError("channel %s: content type %s is not supported" % (name, ctype))
    return _check(path, name, num_classes, multi_label)


# ---- .rec (File or Pipe), augmented manifest ----------------------------------------------------------
def _rec_path(channel, workdir, num_classes):
    if not channel.is_pipe:
        files = channel.files()
        recs = [f for f in files if f.endswith(".rec")] or \
            [f for f in files if not f.endswith((".idx", ".lst"))]  # im2rec leaves .idx/.lst beside
        if not recs:
            raise ClientError("channel %s: no .rec file under %s" % (channel.name, channel.dir))
        for f in recs:
            if os.path.getsize(f) == 0:
                raise ClientError("channel %s: empty .rec file %s" % (channel.name, os.path.relpath(f, channel.dir)))
        if len(recs) == 1 and not _is_manifest_stream(recs[0]):
            return recs[0]
        sources = [(os.path.relpath(f, channel.dir), open(f, "rb")) for f in recs]
    else:
        sources = None
    out = os.path.join(workdir, channel.name + ".rec")
    with open(out, "wb") as dst:
        for display, f in (sources if sources is not None else channel.streams(0)):
            with f:
                head = _read_at_least(f, 16)
                if not head:
                    raise ClientError("channel %s: empty .rec file %s" % (channel.name, display))
                if _payload_is_image(head):
                    _frame_manifest(channel, display, head, f, dst, num_classes)
                else:
                    dst.write(head)
                    shutil.copyfileobj(f, dst, CHUNK)
    if os.path.getsize(out) == 0:
        raise ClientError("channel %s: empty .rec file" % channel.name)
    return out


def _read_at_least(f, n):
    """n bytes (fewer only at the end): a pipe's read may return less than asked."""
    out = b""
    while len(out) < n:
        got = f.read(n - len(out))
        if not got:
            break
        out += got
    return out


def _payload_is_image(head):
    """A RecordIO stream whose first record is a bare image: an augmented manifest, not an image .rec."""
    return len(head) >= 16 and head[:4] == recordio.MAGIC_BYTES and images.sniff(head[8:16]) is not None


def _is_manifest_stream(path):
    with open(path, "rb") as f:
        return _payload_is_image(f.read(16))


def _frame_manifest(channel, display, head, f, dst, num_classes):
    """Pairs (image, class) of an augmented manifest -> image records; the class is the JSON text the
    platform writes for the attribute: a number, or a list (class ids or multi-hot)."""
    pending, index = head, 0
    held = None
    while True:
        chunk = f.read(CHUNK)
        buf = pending + chunk
        try:
            payloads, used = recordio.split(buf, final=not chunk, first_index=index)
        except FormatError as e:
            raise ClientError("channel %s, %s: %s" % (channel.name, display, e)) from None
        pending = buf[used:]
        for p in payloads:
            if held is None:
                if images.sniff(p) is None:
                    raise ClientError("channel %s, %s: record %d: expected an image (source-ref) record"
                                      % (channel.name, display, index))
                held = p
            else:
                labels = _manifest_label(p, channel, display, index, num_classes)
                dst.write(recordio.encode(images.pack(labels, held, index // 2)))
                held = None
            index += 1
        if not chunk:
            break
    if held is not None:
        raise ClientError("channel %s, %s: record %d: an image without its class record (the augmented "
                          "manifest's AttributeNames must be source-ref and class)" % (channel.name, display, index - 1))


def _manifest_label(payload, channel, display, index, num_classes):
    where = "channel %s, %s: record %d" % (channel.name, display, index)
    try:
        value = json.loads(bytes(payload).decode("utf-8"))
        if isinstance(value, str):
            value = float(value)
        arr = np.atleast_1d(np.asarray(value, dtype=np.float32))
    except (UnicodeDecodeError, ValueError, TypeError):
        raise ClientError("%s: class %r is not a number or a JSON list of numbers"
                          % (where, bytes(payload[:50]))) from None
    if arr.ndim != 1 or arr.size == 0:
        raise ClientError("%s: class %r is not a number or a list of numbers" % (where, value))
    if not isinstance(value, list) or arr.size == 1:
        return arr
    # a list: multi-hot (label-format=multi-hot, or num_classes values) or class ids (label-format=class-id)
    fmt = channel.params.get("label-format")
    if fmt == "multi-hot" or (fmt != "class-id" and arr.size == num_classes):
        return arr
    ids = arr.astype(np.int64)
    if (ids != arr).any() or (ids < 0).any() or (ids >= num_classes).any():
        raise ClientError("%s: class ids %s are not classes in [0, %d)" % (where, value, num_classes))
    hot = np.zeros(num_classes, np.float32)
    hot[ids] = 1
    return hot


# ---- images + .lst -------------------------------------------------------------------------------
def _pack_lst(channel, lst_channel, workdir, num_classes, multi_label):
    lst_files = [f for f in lst_channel.files() if f.endswith(".lst")] or lst_channel.files()
    if len(lst_files) != 1:
        raise ClientError("channel %s: expected one .lst file, found %d" % (lst_channel.name, len(lst_files)))
    lst_path = lst_files[0]
    lst_name = os.path.relpath(lst_path, lst_channel.dir)
    with open(lst_path, "rb") as f:
        text = f.read()
    try:
        rows = images.parse_lst(text)
    except FormatError as e:
        raise ClientError("invalid .lst file in channel %s (%s): %s" % (lst_channel.name, lst_name, e)) from None
    if not rows:
        raise ClientError("invalid .lst file in channel %s (%s): no images listed" % (lst_channel.name, lst_name))
    root = os.path.realpath(channel.dir)
    out = os.path.join(workdir, channel.name + ".rec")
    line_of = _line_numbers(text)
    with open(out, "wb") as dst:
        for k, (index, labels, rel) in enumerate(rows):
            where = "channel %s (%s) line %d" % (lst_channel.name, lst_name, line_of[k])
            path = os.path.realpath(os.path.join(root, rel))
            if not path.startswith(root + os.sep):
                raise ClientError("%s: image path %s is outside channel %s" % (where, rel, channel.name))
            try:
                with open(path, "rb") as img:
                    data = img.read()
            except OSError:
                raise ClientError("%s: image %s not found in channel %s" % (where, rel, channel.name)) from None
            if images.sniff(data) is None:
                raise ClientError("%s: %s is not a JPEG or PNG image" % (where, rel))
            dst.write(recordio.encode(images.pack(labels, data, index)))
    return out


def _line_numbers(text):
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return [i for i, line in enumerate(text.splitlines(), 1) if line.strip()]


# ---- checks --------------------------------------------------------------------------------------
def _check(path, name, num_classes, multi_label):
    display = os.path.basename(path)
    labels = []
    try:
        for n, lab, kind in images.scan_rec(path):
            if kind is None:
                raise ClientError("channel %s, %s: record %d is not a JPEG or PNG image" % (name, display, n))
            labels.append(lab)
    except FormatError as e:
        raise ClientError("channel %s, %s: %s" % (name, display, e)) from None
    if not labels:
        raise ClientError("channel %s: empty .rec file %s" % (name, display))
    width = num_classes if multi_label else 1
    out = np.zeros((len(labels), width), dtype=np.float32)
    for n, lab in enumerate(labels):
        if multi_label:
            if lab.size == num_classes:
                out[n] = lab
            else:  # class ids
                ids = lab.astype(np.int64)
                if ids.size > num_classes or (ids < 0).any() or (ids >= num_classes).any():
                    raise ClientError("channel %s, %s: record %d: %d labels %s do not fit num_classes=%d "
                                      "(multi-hot needs %d values)" % (name, display, n, lab.size, lab.tolist()[:10],
                                                                      num_classes, num_classes))
                out[n, ids] = 1
        else:
            if lab.size != 1:
                raise ClientError("channel %s, %s: record %d has %d labels; set multi_label=1 for multi-label data"
                                  % (name, display, n, lab.size))
            c = lab[0]
            if c != int(c) or c < 0 or c >= num_classes:
                raise ClientError("channel %s, %s: record %d: label %g is not a class in [0, %d) (num_classes=%d)"
                                  % (name, display, n, c, num_classes, num_classes))
            out[n, 0] = c
    if multi_label and any(lab.size != num_classes for lab in labels):
        path = _rewrite_multi_hot(path, out, name)
    return RecFile(path, len(labels), out)


def _rewrite_multi_hot(path, multi_hot, name):
    """Class-id label lists -> multi-hot rows of num_classes, the width ImageRecordIter reads."""
    out = path + ".multihot.rec" if not path.endswith(name + ".rec") else path + ".tmp"
    with open(path, "rb") as f:
        data = f.read()
    payloads, _ = recordio.split(data)
    with open(out, "wb") as dst:
        for n, p in enumerate(payloads):
            _, ident, image = images.unpack(p)
            dst.write(recordio.encode(images.pack(multi_hot[n], image, ident)))
    if out.endswith(".tmp"):
        os.replace(out, path)
        return path
    return out
