"""supervised: fastText's classifier, accuracy lines, early stopping on validation accuracy, model.bin.

fastText's Python binding trains a whole run at once (no per-epoch hook, no resuming), so early
stopping compares complete runs of min_epochs, min_epochs+1, ... epochs: the model kept for "epoch k"
is exactly what fastText trains with epoch=k, its learning rate annealed to zero (README).
"""
import os

from containers.blazingtext import corpus, engine
from containers.blazingtext.errors import ClientError


def accuracy(model, path):
    """(examples, accuracy): top-1 predictions that are among the line's labels (fastText's P@1)."""
    n, precision, _ = model.test(path, k=1)
    return n, precision


def train(job, hp, work):
    log = job.log
    if len(job.hosts) > 1 and not job.is_master:
        log.info("supervised mode trains on one instance: %s leaves it to %s", job.current_host, job.hosts[0])
        return
    train_path = os.path.join(work, "train.txt")
    stats = corpus.write(job.channel("train"), True, train_path)
    log.info("training on %d lines", stats.lines)
    validation = job.channel("validation")
    valid_path = None
    if validation is not None:
        valid_path = os.path.join(work, "validation.txt")
        corpus.write(validation, True, valid_path)
    if hp["early_stopping"] and valid_path is None:
        raise ClientError("hyperparameter early_stopping: true needs a validation channel")
    args = engine.fasttext_args(hp, engine.threads())

    if hp["early_stopping"] and hp["min_epochs"] < hp["epochs"]:
        model, report, seconds = _early_stopping(job, hp, args, train_path, valid_path)
    else:
        model, report = engine.fit(train_path, args, log)
        seconds = report.seconds
    engine.log_finish(log, report, seconds, threads=args["thread"])

    n, acc = accuracy(model, train_path)
    log.info("#train_accuracy: %.4f", acc)
    log.info("Number of train examples: %d", n)
    if valid_path is not None:
        n, acc = accuracy(model, valid_path)
        log.info("#validation_accuracy: %.4f", acc)
        log.info("Number of validation examples: %d", n)
    job.save_model("model.bin", model.save_model)


def _early_stopping(job, hp, args, train_path, valid_path):
    log = job.log
    first, last, patience = hp["min_epochs"], hp["epochs"], hp["patience"]
    planned = float(sum(range(first, last + 1)))
    done = 0.0
    best = None  # (accuracy, epochs, model, report)
    seconds = 0.0
    for epochs in range(first, last + 1):
        model, report = engine.fit(train_path, dict(args, epoch=epochs), log,
                                   start=done / planned, span=epochs / planned)
        done += epochs
        seconds += report.seconds
        _, acc = accuracy(model, valid_path)
        log.info("Epoch %d: Validation accuracy: %.6f", epochs, acc)
        if best is None or acc > best[0]:
            best = (acc, epochs, model, report)
        elif epochs - best[1] >= patience:
            log.info("Validation accuracy has not improved for %d epochs (patience %d): stopping early; "
                     "best after %d epochs: %.6f", epochs - best[1], patience, best[1], best[0])
            break
        if job.stop_requested():
            log.info("stop requested: keeping the best model so far")
            break
    log.info("Validation accuracy: %.6f", best[0])
    return best[2], best[3], seconds
