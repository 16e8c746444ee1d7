"""The service's hyperparameter names -> fastText's arguments, and one fastText training run."""
import os

from containers.blazingtext import progress
from containers.blazingtext.errors import ClientError

WORD2VEC = ("skipgram", "cbow", "batch_skipgram")


def threads():
    """All CPUs, or OMP_NUM_THREADS when set (1 makes fastText deterministic)."""
    raw = os.environ.get("OMP_NUM_THREADS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def fasttext_args(hp, nthreads):
    mode = hp["mode"]
    args = {"lr": hp["learning_rate"], "dim": hp["vector_dim"], "epoch": hp["epochs"],
            "minCount": hp["min_count"], "bucket": hp["buckets"], "thread": nthreads, "verbose": 2}
    if mode == "supervised":
        args.update(wordNgrams=hp["word_ngrams"], loss="softmax", minn=0, maxn=0)
        return args
    # batch_skipgram learns no subwords in the service (its notebooks say so); fastText's skipgram is
    # its engine here (see README).
    subwords = hp["subwords"] and mode != "batch_skipgram"
    if hp["subwords"] and hp["min_char"] > hp["max_char"]:
        raise ClientError("hyperparameter min_char: %d is larger than max_char (%d)"
                          % (hp["min_char"], hp["max_char"]))
    args.update(model="cbow" if mode == "cbow" else "skipgram", ws=hp["window_size"],
                neg=hp["negative_samples"], t=hp["sampling_threshold"], loss="ns", wordNgrams=1,
                minn=hp["min_char"] if subwords else 0, maxn=hp["max_char"] if subwords else 0)
    return args


def fit(path, args, log, start=0.0, span=1.0):
    """Train fastText on path; (model, progress.Report). Vocabulary problems are the user's."""
    import fasttext
    supervised = args.get("model") is None
    with progress.translated(log, args["thread"], start, span) as report:
        try:
            if supervised:
                model = fasttext.train_supervised(input=path, **args)
            else:
                model = fasttext.train_unsupervised(input=path, **args)
        except ValueError as e:
            if "Empty vocabulary" in str(e):
                raise ClientError("no word occurs min_count=%d times or more in the training data; "
                                  "lower min_count" % args["minCount"]) from None
            raise
    return model, report


def log_finish(log, report, total_seconds=None, threads=None):
    log.info("Training finished!")
    log.info("Average throughput in Million words/sec: %.2f", report.words_per_sec / 1e6)
    if threads:
        log.info("fastText words/sec/thread: %.0f (%d threads)", report.words_per_sec / threads, threads)
    log.info("Total training time in seconds: %.2f",
             report.seconds if total_seconds is None else total_seconds)
