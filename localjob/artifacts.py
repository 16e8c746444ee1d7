"""What the service uploads to S3OutputPath/<job>/output/: model.tar.gz, output.tar.gz, failure."""
import os
import tarfile


def _entries(dirs):
    """Top-level entries of several hosts' directories; on a name clash the first host's file wins."""
    seen = {}
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.startswith(".tmp-"):
                continue  # an artifact a stopped algorithm was still writing
            seen.setdefault(name, os.path.join(d, name))
    return seen


def has_files(dirs):
    return bool(_entries(dirs))


def pack(dirs, archive):
    """tar.gz of the directories' contents, members named relative to the directory (no ./ prefix)."""
    entries = _entries(dirs)
    os.makedirs(os.path.dirname(archive), exist_ok=True)
    tmp = archive + ".partial"
    with tarfile.open(tmp, "w:gz") as tar:
        for name, path in sorted(entries.items()):
            tar.add(path, arcname=name)
    os.replace(tmp, archive)
    return sorted(entries)
