"""Channels -> the one plain-text file fastText trains from, checked on the way.

text/plain: one sentence per line, space-separated tokens; supervised lines carry one or more tokens
starting with __label__, anywhere in the line. Blank lines are allowed (the guide's own example has
them); plain text reaches fastText unchanged, as if fastText read the user's file. The augmented manifest form (application/jsonlines, or the RecordIO records Pipe mode wraps it
in) holds {"source": "...", "label": 1 | [1, 3]} and becomes `__label__1 __label__3 source` lines.
"""
import json
import re

from containers.blazingtext.errors import ClientError
from formats import recordio
from formats.batch import FormatError

LABEL = "__label__"
_HAS_LABEL = re.compile(rb"(?:^|[ \t\v\f\r])__label__")
CHUNK = 8 << 20


class Stats:
    def __init__(self):
        self.lines = 0        # lines written
        self.nonblank = False
        self.files = []       # display names read


def _plain_lines(name, f):
    """(line number, line bytes without newline) for every line of a stream."""
    pending = b""
    number = 0
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            break
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        for line in lines:
            number += 1
            yield number, line
    if pending:
        yield number + 1, pending


def _label_tokens(label, where):
    items = label if isinstance(label, list) else [label]
    if not items:
        raise ClientError("%s: \"label\" is an empty list" % where)
    out = []
    for it in items:
        if isinstance(it, bool) or not isinstance(it, (int, float, str)) or str(it).strip() == "":
            raise ClientError("%s: label %r is not a number or a word" % (where, it))
        if isinstance(it, float) and it.is_integer():
            it = int(it)
        text = str(it).strip()
        if any(c.isspace() for c in text):
            raise ClientError("%s: label %r contains white space" % (where, it))
        out.append(text if text.startswith(LABEL) else LABEL + text)
    return out


def _manifest_line(obj, supervised, where):
    if not isinstance(obj, dict) or not isinstance(obj.get("source"), str):
        raise ClientError("%s: expected an object with a \"source\" string" % where)
    source = " ".join(obj["source"].split())
    if not supervised:
        return source
    if "label" not in obj:
        raise ClientError("%s: no \"label\"" % where)
    return " ".join(_label_tokens(obj["label"], where) + [source])


def _jsonlines(name, f, supervised, channel):
    for number, raw in _plain_lines(name, f):
        if not raw.strip():
            continue
        where = "channel %s, file %s, line %d" % (channel, name, number)
        try:
            obj = json.loads(raw)
        except ValueError as e:
            raise ClientError("%s: not JSON (%s)" % (where, e)) from None
        yield _manifest_line(obj, supervised, where)


def _recordio(name, f, supervised, channel):
    """Records that are whole JSON objects, or the manifest's attributes one record each in the order
    of AttributeNames (source, then label)."""
    data = f.read()
    try:
        records, _ = recordio.split(data)
    except FormatError as e:
        raise ClientError("channel %s, file %s: %s" % (channel, name, e)) from None
    i = 0
    while i < len(records):
        where = "channel %s, file %s, record %d" % (channel, name, i)
        rec = records[i]
        try:
            obj = json.loads(rec)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            yield _manifest_line(obj, supervised, where)
            i += 1
            continue
        source = rec.decode("utf-8", "replace")
        if not supervised:
            yield " ".join(source.split())
            i += 1
            continue
        if i + 1 >= len(records):
            raise ClientError("%s: source without a label record" % where)
        try:
            label = json.loads(records[i + 1])
        except ValueError:
            label = records[i + 1].decode("utf-8", "replace").strip()
        yield _manifest_line({"source": source, "label": label}, True, where)
        i += 2


def _text(name, f, supervised, channel):
    for number, raw in _plain_lines(name, f):
        if not raw.strip():
            continue
        if supervised and not _HAS_LABEL.search(raw):
            raise ClientError("channel %s, file %s, line %d: no label (supervised lines need a token "
                              "starting with __label__)" % (channel, name, number))
        yield raw


def _check_labels(part, name, channel, first_line):
    search = _HAS_LABEL.search
    for i, line in enumerate(part.split(b"\n")):
        if not search(line) and line.strip():
            raise ClientError("channel %s, file %s, line %d: no label (supervised lines need a token "
                              "starting with __label__)" % (channel, name, first_line + i))


_NONBLANK = re.compile(rb"\S")


def _text_chunks(name, f, supervised, channel, stats):
    """Whole-line chunks of a text/plain stream, checked by regular expressions (no per-line Python)."""
    pending = b""
    first_line = 1
    while True:
        chunk = f.read(CHUNK)
        last = not chunk
        data = pending + chunk
        cut = len(data) if last else data.rfind(b"\n") + 1
        part, pending = data[:cut], data[cut:]
        if part:
            if supervised:
                _check_labels(part, name, channel, first_line)
            if not part.endswith(b"\n"):
                part += b"\n"
            stats.nonblank = stats.nonblank or _NONBLANK.search(part) is not None
            stats.lines += part.count(b"\n")
            first_line += part.count(b"\n")
            yield part
        if last:
            break


def lines(channel, supervised, stats):
    """Every non-blank line of one pass over the channel, as fastText will read it (bytes or str)."""
    reader = _READERS.get(channel.content_type, _text)
    for name, f in channel.streams(0):
        stats.files.append(name)
        for line in reader(name, f, supervised, channel.name):
            stats.lines += 1
            yield line


_READERS = {"application/jsonlines": _jsonlines, "application/x-recordio": _recordio}


def write(channel, supervised, path, share=None):
    """Write the channel's lines to path (share=(rank, hosts): every hosts-th line from rank)."""
    stats = Stats()
    kept = 0
    if share is None and channel.content_type not in _READERS:
        # plain text goes to fastText as it is, blank lines included, as fastText itself would read it
        with open(path, "wb") as out:
            for name, f in channel.streams(0):
                stats.files.append(name)
                for part in _text_chunks(name, f, supervised, channel.name, stats):
                    out.write(part)
        if not stats.nonblank:
            raise ClientError("channel %s: no sentences in %s (the corpus is empty)"
                              % (channel.name, ", ".join(stats.files) or "the channel"))
        return stats
    with open(path, "wb") as out:
        for i, line in enumerate(lines(channel, supervised, stats)):
            if share is not None and i % share[1] != share[0]:
                continue
            out.write(line if isinstance(line, bytes) else line.encode("utf-8"))
            out.write(b"\n")
            kept += 1
    if stats.lines == 0:
        raise ClientError("channel %s: no sentences in %s (the corpus is empty)"
                          % (channel.name, ", ".join(stats.files) or "the channel"))
    stats.kept = kept
    return stats

