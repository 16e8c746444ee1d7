"""The three files of a k-NN model (G:5362-5380) and the metadata read back from them.

model_algo-1         the FAISS index, as faiss.write_index writes it
model_algo-1.labels  the labels in index order, raw float32
model_algo-1.json    {"k", "predictor_type", "dimension_reduction", "normalize", "version"}; users edit
                     k and predictor_type there to change how answers are computed
"""
import json
import os
import re

INDEX_FILE = "model_algo-1"
LABELS_FILE = INDEX_FILE + ".labels"
META_FILE = INDEX_FILE + ".json"
VERSION = "1.0"


def metadata(k, predictor_type, projection, normalize):
    return {"k": int(k), "predictor_type": predictor_type,
            "dimension_reduction": projection.describe() if projection is not None else None,
            "normalize": bool(normalize), "version": VERSION}


def write_meta(path, meta):
    with open(path, "w") as f:
        json.dump(meta, f, indent=4)


def read_meta(path):
    """The JSON, also in the guide's example spelling with Python's True/False/None."""
    with open(path) as f:
        text = f.read()
    try:
        meta = json.loads(text)
    except ValueError:
        fixed = re.sub(r"\b(True|False|None)\b", lambda m: {"True": "true", "False": "false",
                                                            "None": "null"}[m.group(1)], text)
        meta = json.loads(fixed)
    if not isinstance(meta, dict):
        raise ValueError("%s: not a JSON object" % path)
    return meta


def find(model_dir):
    """(index, labels, meta) paths: model_algo-1* or, for a model from another host, model_algo-N*."""
    names = sorted(os.listdir(model_dir))
    for name in [INDEX_FILE] + [n for n in names if re.fullmatch(r"model_algo-\d+", n)]:
        paths = [os.path.join(model_dir, name + s) for s in ("", ".labels", ".json")]
        if all(os.path.isfile(p) for p in paths):
            return paths
    raise FileNotFoundError("no model_algo-1, model_algo-1.labels and model_algo-1.json in %s (found %s)"
                            % (model_dir, ", ".join(names) or "nothing"))
