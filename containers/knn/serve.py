"""k-NN inference (G:5479-5659): predicted_label per record; with `Accept: ...; verbose=true` also the
k neighbours' distances and labels, nearest first.

The model's JSON is read at load, so editing k or predictor_type there changes the answers."""
import logging
import os

import numpy as np

import faiss
from contract.errors import ClientError
from containers.knn import artifact, index as indexes
from containers.knn.neighbours import Neighbours
from containers.knn.projection import Projection
from formats import codecs


class Predictor:
    def __init__(self, neighbours):
        self.model = neighbours

    def decode(self, body, request):
        batch = codecs.decode(body, request.content_type.mime, request.content_type.params)
        batch.verbose = request.accept.flag("verbose")
        return batch

    def predict(self, batch):
        x = np.asarray(batch.dense(), dtype=np.float32)
        if x.shape[1] != self.model.input_dim:
            raise ClientError("each record must have %d features (the model's feature_dim), got %d"
                              % (self.model.input_dim, x.shape[1]))
        if not np.isfinite(x).all():
            row = int(np.argmax(~np.isfinite(x).all(axis=1)))
            raise ClientError("record %d: features must be finite numbers" % row)
        pred, labels, dist = self.model.predict(x)
        out = {"predicted_label": pred}
        if getattr(batch, "verbose", False):
            out["distances"] = dist
            out["labels"] = labels
        return out


def load(model_dir):
    index_path, labels_path, meta_path = artifact.find(model_dir)
    meta = artifact.read_meta(meta_path)
    index = faiss.read_index(index_path)
    sharded = indexes.shard_flat(index, len(os.sched_getaffinity(0)))
    if sharded is not index:
        logging.getLogger("serving").info("k-NN: the flat index of %d vectors served as %d FAISS shards",
                                          index.ntotal, sharded.count())
    index = sharded
    labels = np.fromfile(labels_path, dtype=np.float32)
    red = meta.get("dimension_reduction") or None
    projection = None
    if red and red.get("type") not in (None, "", "none"):
        projection = Projection(red["type"], red["seed"], red["input_dim"], red["target_dim"])
    return Predictor(Neighbours(index, labels, meta["k"], meta["predictor_type"], projection,
                                meta.get("normalize", False)))
