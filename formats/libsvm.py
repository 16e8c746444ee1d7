"""text/libsvm: `label[:weight] index:value index:value ...` per line.

Indexing: the heuristic of xgboost's libsvm parser (dmlc-core `indexing_mode=-1`, from scikit-learn's
load_svmlight_file) and of the service's XGBoost image for requests: when no feature index is 0 anywhere,
the indices are 1-based and each is read as index - 1. `indexing="auto"` applies it to what one call
parses; callers deciding over several files parse with "zero" and apply `one_based` themselves.

Requests may leave the label out: a first token without ':' is a label, anything else starts the
features. Training data always has a label first (`label:weight` is then a weighted label). `qid:n`
tokens (ranking groups) are kept in Batch.qids when every line has one.
"""
import numpy as np

from formats.batch import Batch, Csr, FormatError


def _number(tok, lineno, what):
    try:
        v = float(tok)
    except ValueError:
        raise FormatError("line %d: %s %r is not a number" % (lineno, what, tok.decode("utf-8", "replace")[:40])) \
            from None
    return v


def one_based(indices):
    """xgboost's rule: indices are 1-based when there are some and none is 0."""
    return len(indices) > 0 and int(indices.min()) > 0


def shift_to_zero_based(batch):
    """The batch with every feature index one lower (its width too): a 1-based file read as xgboost does."""
    f = batch.features
    feats = Csr(f.data, f.indices - 1, f.indptr, (f.shape[0], max(f.shape[1] - 1, 0)))
    return Batch(feats, batch.labels, batch.weights, batch.qids)


def parse(body, has_label=None, first_line=1, indexing="auto"):
    """libsvm bytes -> Batch (Csr features; labels and weights when the lines carry them).

    has_label: True (training: the first token is always the label), None (requests: detect per line).
    indexing: "auto" (1-based when no index is 0), "zero" (as written) or "one".
    """
    if indexing not in ("auto", "zero", "one"):
        raise ValueError("indexing must be auto, zero or one, not %r" % (indexing,))
    if isinstance(body, str):
        body = body.encode()
    labels, weights, data, indices, indptr, qids = [], [], [], [], [0], []
    labelled = None
    width = 0
    for lineno, line in enumerate(bytes(body).splitlines(), start=first_line):
        toks = line.split()
        if not toks or toks[0].startswith(b"#"):
            continue
        start = 0
        first = toks[0]
        if has_label or (has_label is None and b":" not in first):
            if b":" in first:
                lab, w = first.split(b":", 1)
                weights.append(_number(w, lineno, "weight"))
            else:
                lab = first
                weights.append(1.0)
            labels.append(_number(lab, lineno, "label"))
            start = 1
            row_labelled = True
        else:
            row_labelled = False
        if labelled is None:
            labelled = row_labelled
        elif labelled != row_labelled:
            raise FormatError("line %d: %s a label, unlike the lines before it"
                              % (lineno, "has" if row_labelled else "lacks"))
        for tok in toks[start:]:
            if tok.startswith(b"#"):
                break
            idx, sep, val = tok.partition(b":")
            if not sep:
                raise FormatError("line %d: %r is not index:value" % (lineno, tok.decode("utf-8", "replace")[:40]))
            if idx == b"qid":
                try:
                    qids.append(int(val))
                except ValueError:
                    raise FormatError("line %d: qid %r is not an integer"
                                      % (lineno, val.decode("utf-8", "replace")[:40])) from None
                continue
            try:
                i = int(idx)
            except ValueError:
                raise FormatError("line %d: feature index %r is not an integer"
                                  % (lineno, idx.decode("utf-8", "replace")[:40])) from None
            if i < 0:
                raise FormatError("line %d: feature index %d is negative" % (lineno, i))
            indices.append(i)
            data.append(_number(val, lineno, "value"))
            if i >= width:
                width = i + 1
        indptr.append(len(indices))
    n = len(indptr) - 1
    if qids and len(qids) != n:
        raise FormatError("%d of %d lines have a qid: give every line one, or none" % (len(qids), n))
    q = np.asarray(qids, dtype=np.int64) if qids else None
    feats = Csr(np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int64),
                np.asarray(indptr, dtype=np.int64), (n, width))
    if not labelled:
        out = Batch(feats, qids=q)
    else:
        w = np.asarray(weights, dtype=np.float32)
        out = Batch(feats, np.asarray(labels, dtype=np.float32), w if (w != 1).any() else None, q)
    if indexing == "one" or (indexing == "auto" and one_based(feats.indices)):
        if len(feats.indices) and int(feats.indices.min()) == 0:
            raise FormatError("feature index 0 in 1-based data")
        out = shift_to_zero_based(out)
    return out
