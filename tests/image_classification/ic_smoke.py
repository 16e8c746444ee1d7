"""Data for the docker smoke test (tests/images): tiny two-class JPEGs (dark or bright squares) in .rec files."""
import numpy as np

from formats import images


def _images(n, seed):
    rng = np.random.RandomState(seed)
    out = []
    for i in range(n):
        label = i % 2
        base = 200 if label else 50
        pixels = np.clip(base + rng.randn(16, 16, 3) * 20, 0, 255).astype(np.uint8)
        out.append((label, images.encode_jpeg(pixels)))
    return out


def _rec(root, name, items):
    path = root / (name + ".rec")
    images.write_rec(str(path), [images.pack(label, jpeg, i) for i, (label, jpeg) in enumerate(items)])
    return path.read_bytes()


def smoke(root):
    jpeg = _images(1, 5)[0][1]
    return {
        "channels": {"train": {"content_type": "application/x-recordio", "files": {"train.rec": _rec(root, "t", _images(64, 0))}},
                     "validation": {"content_type": "application/x-recordio",
                                    "files": {"val.rec": _rec(root, "v", _images(32, 1))}}},
        "serve": {"body": jpeg, "content_type": "application/x-image", "accept": "application/json", "records": 2},
        "transform": {"files": {"a.jpg": jpeg, "b.jpg": _images(2, 6)[1][1]}, "content_type": "application/x-image",
                      "accept": "application/json", "split": "None", "records": {"a.jpg": 1, "b.jpg": 1}},
    }
