"""BlazingText training: `mode` picks Word2Vec (skipgram, cbow, batch_skipgram) or supervised."""
import shutil
import tempfile

from containers.blazingtext import supervised, word2vec

WORD2VEC_ONLY = ("batch_size", "evaluation", "min_char", "max_char", "negative_samples",
                 "sampling_threshold", "subwords", "window_size")
SUPERVISED_ONLY = ("early_stopping", "min_epochs", "patience", "word_ngrams")


def train(job):
    hp = job.hyperparameters
    mode = hp["mode"]
    unused = SUPERVISED_ONLY if mode != "supervised" else WORD2VEC_ONLY
    job.log.info("mode %s; %s do not apply to it", mode, ", ".join(unused))
    if mode == "batch_skipgram":
        job.log.info("batch_skipgram: fastText's skipgram trains each host's share (batch_size=%d is not "
                     "used; subwords are not learned)", hp["batch_size"])
    work = tempfile.mkdtemp(prefix="blazingtext-")
    try:
        if mode == "supervised":
            supervised.train(job, hp, work)
        else:
            word2vec.train(job, hp, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
