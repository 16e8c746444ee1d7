"""skipgram, cbow and batch_skipgram: fastText trains; vectors.txt, vectors.bin and eval.json result."""
import json
import os

import numpy as np

from containers.blazingtext import corpus, engine, wordsim
from containers.blazingtext.errors import ClientError


def train(job, hp, work):
    log = job.log
    if job.channel("validation") is not None:
        raise ClientError("channel validation: mode %s reads only the train channel" % hp["mode"])
    channel = job.channel("train")
    args = engine.fasttext_args(hp, engine.threads())
    if hp["mode"] == "batch_skipgram" and len(job.hosts) > 1:
        if channel.distribution != "FullyReplicated":
            raise ClientError("channel train: batch_skipgram on several instances needs S3DistributionType "
                              "FullyReplicated (each instance takes its share itself), not %s"
                              % channel.distribution)
        from containers.blazingtext import averaging  # MXNet's kvstore: only several hosts need it
        model, report = averaging.fit(job, channel, hp, args, work)
    else:
        if len(job.hosts) > 1 and not job.is_master:
            log.info("mode %s trains on one instance: %s leaves it to %s",
                     hp["mode"], job.current_host, job.hosts[0])
            return
        path = os.path.join(work, "train.txt")
        stats = corpus.write(channel, False, path)
        log.info("training on %d lines", stats.lines)
        model, report = engine.fit(path, args, log)
    engine.log_finish(log, report, threads=args["thread"])
    if not job.is_master:
        return
    job.save_model("vectors.bin", model.save_model)
    job.save_model("vectors.txt", lambda p: write_vectors(model, p))
    if hp["evaluation"]:
        evaluate(job, os.path.join(job.model_dir, "vectors.txt"))


def write_vectors(model, path):
    """word2vec text format, words in fastText's order (most frequent first), as fastText's .vec."""
    words = model.get_words(on_unicode_error="replace")
    dim = model.get_dimension()
    subwords = model.f.getArgs().maxn > 0
    matrix = None if subwords else model.get_input_matrix()
    with open(path, "w", encoding="utf-8") as f:
        f.write("%d %d\n" % (len(words), dim))
        for i, word in enumerate(words):
            vec = model.get_word_vector(word) if subwords else matrix[i]
            f.write(word + " " + " ".join("%.5g" % v for v in vec) + "\n")


def evaluate(job, vectors_path):
    log = job.log
    log.info("Evaluating word embeddings....")
    log.info("Vectors read from: %s ", vectors_path)
    result = wordsim.evaluate(wordsim.read_vectors(vectors_path))
    rho = result["mean_rho"]
    if not np.isfinite(rho):
        for entry in result.values():
            if isinstance(entry, dict):
                entry["spearmans_rho"] = None
        result["mean_rho"] = None
    text = json.dumps(result, indent=4, sort_keys=True)
    log.info("\n%s", text)
    job.save_model("eval.json", lambda p: _write_text(p, text + "\n"))
    if result["mean_rho"] is None:
        log.warning("no WS-353 pair has both words in the vocabulary: no mean_rho")
    else:
        log.info("#mean_rho: %s", repr(float(rho)))


def _write_text(path, text):
    with open(path, "w") as f:
        f.write(text)
