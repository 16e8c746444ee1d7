"""S3 URIs of a request, read as local paths: `/data/x`, `file:///data/x` or a prefix of file names."""
import os
from urllib.parse import unquote, urlparse


class RequestError(ValueError):
    """The request JSON asks for something the local runner cannot do; the message says what."""


def local_path(uri, what="S3Uri"):
    if not uri:
        raise RequestError("%s is missing" % what)
    if uri.startswith("file://"):
        parsed = urlparse(uri)
        return os.path.abspath(unquote((parsed.netloc or "") + parsed.path))
    if uri.startswith("s3://"):
        raise RequestError("%s %s: the local runner reads local paths or file:// URIs, not S3; "
                           "download the data and point %s at it" % (what, uri, what))
    return os.path.abspath(os.path.expanduser(uri))


def list_objects(uri, what="S3Uri"):
    """(path, key relative to the prefix) of every object under an S3Prefix, sorted as S3 lists keys.

    Like S3, a prefix that is not a directory selects the files whose names start with it.
    """
    path = local_path(uri, what)
    if os.path.isdir(path):
        root, keep = path, lambda rel: True
    elif os.path.isfile(path):
        return [(path, os.path.basename(path))]
    else:
        root = os.path.dirname(path)
        start = os.path.basename(path)
        keep = lambda rel: rel.startswith(start)
        if not os.path.isdir(root):
            raise RequestError("%s %s: no such file or directory" % (what, uri))
    found = []
    for dirpath, dirs, names in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for n in names:
            if n.startswith("."):
                continue
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, root)
            if keep(rel) and os.path.isfile(full):
                found.append((full, rel))
    found.sort(key=lambda item: item[1])
    if not found:
        raise RequestError("%s %s: no objects found" % (what, uri))
    return found
