"""Word-similarity evaluation as the service reports it: Spearman's rho between human scores and the
cosine similarity of the vectors in vectors.txt, pairs with a word missing from the file skipped.

The service averages three WS-353 files (ALL, REL, SIM) into mean_rho; only ALL ships with the
software we may use, so mean_rho is the rho on ALL (see README, INFERRED).
"""
import numpy as np

from containers.blazingtext import ws353


def pairs():
    out = []
    for line in ws353.PAIRS_TSV.splitlines():
        if line.strip():
            a, b, score = line.split("\t")
            out.append((a, b, float(score)))
    return out


def read_vectors(path):
    """word -> float32 vector from a word2vec text file (first line: count and dimension)."""
    vectors = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline().split()
        dim = int(header[1])
        for line in f:
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if len(parts) != dim + 1:
                continue
            vectors[parts[0]] = np.asarray(parts[1:], dtype=np.float32)
    return vectors


def _lookup(vectors, word):
    v = vectors.get(word)
    return v if v is not None else vectors.get(word.lower())


def _ranks(x):
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata)."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    return ranks


def spearman(x, y):
    rx, ry = _ranks(np.asarray(x, dtype=np.float64)), _ranks(np.asarray(y, dtype=np.float64))
    rx -= rx.mean()
    ry -= ry.mean()
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


def evaluate(vectors):
    """The eval.json dictionary for a word -> vector mapping."""
    human, model, not_found = [], [], 0
    ps = pairs()
    for a, b, score in ps:
        va, vb = _lookup(vectors, a), _lookup(vectors, b)
        if va is None or vb is None:
            not_found += 1
            continue
        va, vb = va.astype(np.float64), vb.astype(np.float64)
        norm = np.linalg.norm(va) * np.linalg.norm(vb)
        human.append(score)
        model.append(float(va @ vb / norm) if norm > 0 else 0.0)
    rho = spearman(human, model) if len(human) >= 2 else float("nan")
    return {ws353.NAME: {"not_found": not_found, "spearmans_rho": rho, "total_pairs": len(ps)},
            "mean_rho": rho}
