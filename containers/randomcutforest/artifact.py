"""The model artifact: `model_algo-1`, an uncompressed ZIP of .npy arrays (numpy's .npz layout).

Members (N nodes over all trees, T trees, d features; see forest.py for their meaning):
  forest.json            {"format": "randomcutforest-flat", "version": 1, "feature_dim": d,
                          "num_trees": T, "num_samples_per_tree": m, "num_nodes": N, ...}
  left.npy (N,) int32, cut_dim.npy (N,) int32, cut_value.npy (N,) float32,
  lower.npy (N, d) float32, upper.npy (N, d) float32, mass.npy (N,) int32,
  depth.npy (N,) int16, roots.npy (T,) int32
Anyone can read it with numpy.load(path). Serving maps each member straight from the file
(the members are stored, not deflated), so loading costs no copy and no unpickling.
"""
import io
import json
import struct
import zipfile

import numpy as np

from containers.randomcutforest.forest import Forest

MODEL_FILE = "model_algo-1"
FORMAT = "randomcutforest-flat"
VERSION = 1
_PAD_FIELD = 0x6E70  # a zip "extra" field of zeros that aligns the next member's data; readers skip it


def save(forest, path, extra=None):
    meta = dict(forest.info(), format=FORMAT, version=VERSION, feature_dim=forest.dim,
                num_trees=forest.num_trees, num_samples_per_tree=forest.tree_mass,
                num_nodes=forest.num_nodes, **(extra or {}))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr(_entry(z, "forest.json", 0), json.dumps(meta, sort_keys=True))
        for name in Forest.FIELDS:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(getattr(forest, name)), allow_pickle=False)
            z.writestr(_entry(z, name + ".npy", buf.tell()), buf.getvalue())


def _entry(z, name, size):
    """A stored member whose data starts on a 64-byte boundary of the file: numpy pads its own header
    to 64 bytes, so the mapped arrays are aligned (unaligned ones take numpy's slow paths)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    if size > zipfile.ZIP64_LIMIT:
        return info  # zipfile adds its own zip64 field: such a member is read, not mapped, if unaligned
    start = z.fp.tell() + 30 + len(name.encode()) + 4  # local header, name, this field's own header
    pad = -start % 64
    info.extra = struct.pack("<HH", _PAD_FIELD, pad) + bytes(pad)
    return info


def _mapped(path, z, info):
    """The member's array as a read-only memory map of the file (None when it cannot be)."""
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if local[:4] != b"PK\x03\x04":
            return None
        name_len = int.from_bytes(local[26:28], "little")
        extra_len = int.from_bytes(local[28:30], "little")
        f.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        shape, fortran, dtype = np.lib.format._read_array_header(f, version)
        offset = f.tell()
    if fortran or dtype.hasobject or offset % dtype.alignment:
        return None
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def load(path):
    """(Forest, metadata) from an artifact; arrays are memory maps of the file."""
    with zipfile.ZipFile(path) as z:
        try:
            meta = json.loads(z.read("forest.json"))
        except KeyError:
            raise ValueError("%s: no forest.json member: not a randomcutforest model" % path) from None
        if meta.get("format") != FORMAT or int(meta.get("version", 0)) > VERSION:
            raise ValueError("%s: model format %s version %s is not supported"
                             % (path, meta.get("format"), meta.get("version")))
        arrays = {}
        for name in Forest.FIELDS:
            info = z.getinfo(name + ".npy")
            arr = _mapped(path, z, info) if info.compress_type == zipfile.ZIP_STORED else None
            if arr is None:
                with z.open(info) as f:
                    arr = np.lib.format.read_array(f, allow_pickle=False)
            arrays[name] = arr
    forest = Forest(tree_mass=meta["num_samples_per_tree"], **arrays)
    if forest.dim != meta["feature_dim"] or forest.num_trees != meta["num_trees"]:
        raise ValueError("%s: arrays disagree with forest.json" % path)
    return forest, meta
