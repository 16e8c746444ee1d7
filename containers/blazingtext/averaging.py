"""batch_skipgram on several hosts: each trains fastText's skipgram on its share of the sentences for
one epoch, then the word vectors are averaged across hosts through the MXNet kvstore, and the next
epoch starts from the average.

fastText starts a run from given word vectors (-pretrainedVectors, a .vec file) but not from given
output (context) vectors, which restart at zero each epoch, and each one-epoch run decays its
learning rate to zero: the epoch's starting rate falls linearly over the epochs instead (README).
Every host reads the whole (FullyReplicated) corpus to agree on one vocabulary: words with min_count
occurrences over all hosts' data, plus fastText's end-of-sentence token.
"""
import collections
import os

import mxnet as mx
import numpy as np

from containers.blazingtext import corpus, engine
from containers.blazingtext.errors import ClientError

EOS = b"</s>"


def _vocabulary(channel, share_path, rank, hosts, min_count):
    counts = collections.Counter()
    stats = corpus.Stats()
    kept = 0
    with open(share_path, "wb") as out:
        for i, line in enumerate(corpus.lines(channel, False, stats)):
            raw = line if isinstance(line, bytes) else line.encode("utf-8")
            tokens = raw.split()
            counts.update(tokens)
            counts[EOS] += 1
            if i % hosts == rank:
                out.write(raw + b"\n")
                kept += 1
    if stats.lines == 0:
        raise ClientError("channel %s: no sentences in %s (the corpus is empty)"
                          % (channel.name, ", ".join(stats.files) or "the channel"))
    vocab = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if not vocab or vocab == [EOS]:
        raise ClientError("no word occurs min_count=%d times or more in the training data; lower min_count"
                          % min_count)
    return vocab, stats.lines, kept


def _write_vec(path, vocab, matrix):
    with open(path, "wb") as f:
        f.write(b"%d %d\n" % matrix.shape)
        for word, row in zip(vocab, matrix):
            f.write(word + b" " + " ".join("%.9g" % v for v in row).encode() + b"\n")


def _rows(model, index):
    """Positions in the model's input matrix of each vocabulary word (-1 where absent)."""
    pos = np.full(len(index), -1, dtype=np.int64)
    for i, word in enumerate(model.get_words(on_unicode_error="replace")):
        j = index.get(word.encode("utf-8"))
        if j is not None:
            pos[j] = i
    return pos


def fit(job, channel, hp, args, work):
    log = job.log
    kv = job.kvstore()
    rank, hosts = job.host_rank, len(job.hosts)
    share = os.path.join(work, "share.txt")
    vocab, total, kept = _vocabulary(channel, share, rank, hosts, hp["min_count"])
    log.info("host %s trains on %d of %d sentences; shared vocabulary of %d words",
             job.current_host, kept, total, len(vocab))
    index = {w: j for j, w in enumerate(vocab)}
    dim, epochs = args["dim"], args["epoch"]
    # fastText's own initialisation, seeded alike on every host so all start from the same vectors
    average = np.random.RandomState(0).uniform(-1.0 / dim, 1.0 / dim, (len(vocab), dim)).astype(np.float32)
    vec = os.path.join(work, "average.vec")
    model, speeds, seconds = None, [], 0.0
    for epoch in range(epochs):
        _write_vec(vec, vocab, average)
        run = dict(args, epoch=1, lr=args["lr"] * (1.0 - float(epoch) / epochs), pretrainedVectors=vec)
        model, report = engine.fit(share, run, log, start=float(epoch) / epochs, span=1.0 / epochs)
        speeds.append(report.words_per_sec)
        seconds += report.seconds
        pos = _rows(model, index)
        matrix = model.get_input_matrix()
        mine = np.where((pos >= 0)[:, None], matrix[np.maximum(pos, 0)], average)
        key = 1000 + epoch  # a fresh key per round keeps rounds from mixing
        kv.init(key, mx.nd.zeros(mine.shape))
        kv.push(key, mx.nd.array(mine))
        total_sum = mx.nd.zeros(mine.shape)
        kv.pull(key, out=total_sum)
        average = (total_sum.asnumpy() / kv.num_workers).astype(np.float32)
        log.info("epoch %d: word vectors averaged over %d hosts", epoch + 1, kv.num_workers)
        if job.stop_requested():
            log.info("stop requested: keeping the vectors of %d epochs", epoch + 1)
            break
    merged = matrix.copy()
    merged[pos[pos >= 0]] = average[pos >= 0]
    model.set_matrices(merged, model.get_output_matrix())
    report.words_per_sec = float(np.mean(speeds))
    report.seconds = seconds
    return model, report
