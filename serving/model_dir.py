"""Locate the model: extracted files in model/, or a model.tar.gz there, extracted safely."""
import os
import tarfile
import tempfile


class UnsafeArchive(ValueError):
    pass


def _safe_members(tar, dest):
    dest = os.path.realpath(dest)
    for m in tar.getmembers():
        name = m.name
        target = os.path.realpath(os.path.join(dest, name))
        if os.path.isabs(name) or ".." in name.replace("\\", "/").split("/") or \
                not (target == dest or target.startswith(dest + os.sep)):
            raise UnsafeArchive("archive member %r would be written outside the model directory" % name)
        if m.issym() or m.islnk():
            link = m.linkname
            base = os.path.dirname(target) if m.issym() else dest
            resolved = os.path.realpath(os.path.join(base, link))
            if os.path.isabs(link) or not resolved.startswith(dest + os.sep):
                raise UnsafeArchive("archive member %r links outside the model directory (%s)" % (name, link))
        elif not (m.isfile() or m.isdir()):
            raise UnsafeArchive("archive member %r is not a regular file or directory" % name)
        yield m


def extract(archive, dest):
    with tarfile.open(archive, "r:*") as tar:
        members = list(_safe_members(tar, dest))
        for m in members:
            m.mode = (m.mode | 0o600) & 0o777
        tar.extractall(dest, members=members)


def resolve(model_dir):
    """The directory holding the model files, extracting model.tar.gz when that is all there is."""
    archive = os.path.join(model_dir, "model.tar.gz")
    if os.path.isfile(archive):
        others = [n for n in os.listdir(model_dir) if n != "model.tar.gz" and not n.startswith(".")]
        if not others:
            dest = tempfile.mkdtemp(prefix="model-")
            extract(archive, dest)
            return dest
    return model_dir
