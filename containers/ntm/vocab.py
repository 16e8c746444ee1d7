"""The auxiliary channel's vocab.txt, each topic's top words, and WETC coherence.

WETC (Ding, Nallapati, Xiang 2018, pairwise form): the mean cosine similarity of the word embeddings of
a topic's top words. The service's embeddings are not public; here a word's embedding is its
document-occurrence profile over the training data seen in the first epoch, compressed by a random
Gaussian projection (cosines preserved up to the projection's noise): words that appear in the same
documents are similar, which is what coherence asks of a topic's top words.
"""
import os

import numpy as np

from contract.errors import ClientError

TOP_WORDS = 10
EMBEDDING_DIM = 64
VOCAB_FILE = "vocab.txt"


def read(channel, feature_dim):
    """The words of vocab.txt in the auxiliary channel (a list of feature_dim strings)."""
    if channel is None:
        return None
    found = None
    for name, f in channel.streams():
        if os.path.basename(name) == VOCAB_FILE or channel.is_pipe:
            found = (name, f.read())
            break
    if found is None:
        raise ClientError("channel auxiliary: no %s (the vocabulary file must be named %s)" % (VOCAB_FILE, VOCAB_FILE))
    name, raw = found
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ClientError("channel auxiliary, file %s: line %d is not UTF-8 (only UTF-8 is supported)"
                          % (name, line)) from None
    words = [w.strip() for w in text.lstrip("\ufeff").splitlines()]
    while words and not words[-1]:
        words.pop()
    if len(words) != feature_dim:
        raise ClientError("channel auxiliary, file %s: has %d words (one per line); feature_dim is %d, and "
                          "line i must name word i of the data" % (name, len(words), feature_dim))
    return words


class Embeddings:
    """Running sum of csr.T @ R over documents (R: one random Gaussian row per document)."""

    def __init__(self, vocab, seed=7):
        self.E = np.zeros((vocab, EMBEDDING_DIM), np.float64)
        self.rng = np.random.RandomState(seed)

    def add(self, data, indices, indptr):
        n = len(indptr) - 1
        R = self.rng.standard_normal((n, EMBEDDING_DIM))
        rows = np.repeat(np.arange(n), np.diff(indptr))
        np.add.at(self.E, indices, (data > 0)[:, None] * R[rows])


def top_words(projection, k=TOP_WORDS):
    """Each topic's top word ids by its column of the decoder matrix (vocab, topics)."""
    return np.argsort(-projection, axis=0)[:k].T


def wetc(embeddings, top):
    """Pairwise WETC per topic: mean cosine over pairs of the topic's top words."""
    norm = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = embeddings / np.where(norm > 0, norm, 1)
    out = []
    for ids in top:
        e = unit[ids]
        sim = e @ e.T
        n = len(ids)
        out.append(float((sim.sum() - np.trace(sim)) / (n * (n - 1))))
    return np.array(out)


def log_topics(log, projection, words, embeddings):
    top = top_words(projection)
    scores = wetc(embeddings.E, top) if embeddings is not None else None
    for k, ids in enumerate(top):
        head = "Topic %d" % k + ("" if scores is None else " [WETC %.4f]" % scores[k])
        log.info("%s: %s", head, " ".join(words[i] for i in ids))
    if scores is not None:
        log.info("WETC (mean over %d topics, top %d words): %.4f", len(top), top.shape[1], float(scores.mean()))
    return scores
