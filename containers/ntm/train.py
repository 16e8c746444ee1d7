"""Training: mini-batch variational inference with a Gluon Trainer, early stopping on the validation
loss (else the training loss), several hosts in lock step through the kvstore.

Several hosts: gradients are summed through the kvstore (hosts.py) and every host applies the same
update to its own replica, which started from the first host's parameters. Hosts may hold
different numbers of batches, so each step first sums the hosts' record counts: a host whose pass
is over contributes zero gradients until every host's pass is, and the gradient is scaled by the
records of all hosts. Epoch losses are summed over hosts, so every host takes the same stopping
decision.
"""
import math
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from containers.ntm import artifact, counts, network, vocab as vocabmod
from containers.ntm.hosts import HostSums
from containers.ntm.patience import Patience
from contract.errors import ClientError

SEED = 17  # the same on every host: replicas start equal


def _optimizer(hp):
    clip = hp["clip_gradient"]
    kw = {"learning_rate": hp["learning_rate"], "wd": hp["weight_decay"], "rescale_grad": hp["rescale_gradient"]}
    if isinstance(clip, (int, float)) and math.isfinite(clip):  # the words Infinity/inf: no clipping
        kw["clip_gradient"] = clip
    return mx.optimizer.create(hp["optimizer"], **kw)


class Sums:
    """Loss sums over documents: reconstruction, KL, documents, words."""

    def __init__(self, values=None):
        self.v = np.zeros(4) if values is None else np.asarray(values, np.float64)

    def add(self, rec, kl, docs, words):
        self.v += (rec, kl, docs, words)

    def per_document(self):
        docs = max(self.v[2], 1.0)
        rec, kl = self.v[0] / docs, self.v[1] / docs
        return {"total_loss": rec + kl, "recons": rec, "kld": kl}

    def perplexity(self):
        return math.exp((self.v[0] + self.v[1]) / max(self.v[3], 1.0))


class Trainer:
    def __init__(self, job, hp, layers):
        self.job, self.hp, self.layers = job, hp, layers
        self.V = hp["feature_dim"]
        self.ctxs = job.contexts
        mx.random.seed(SEED)
        self.net = network.NTM(self.V, hp["num_topics"], layers, hp["encoder_layers_activation"], hp["batch_norm"])
        self.net.collect_params().initialize(ctx=self.ctxs)
        self.kv = job.kvstore()
        self.hosts = HostSums(self.kv)
        self.hosts.share(self.net.collect_params())
        # several hosts: the gradients are summed by self.hosts and each replica updates itself
        self.trainer = gluon.Trainer(self.net.collect_params(), _optimizer(hp),
                                     kvstore="device" if self.kv is None else None)
        self.embeddings = self.embeddings_done = None

    # ---- one pass ---------------------------------------------------------------------------------
    def _losses(self, docs, sample):
        return [self.net(part, sample) for part in docs.parts]

    def _idle_step(self):
        """Zero gradients for a host with no batch left while others still have one."""
        docs = counts.empty(self.V, self.ctxs)
        with autograd.record(train_mode=False):  # batch norm's moving statistics left alone
            zeros = [(rec + kl) * 0 for rec, kl in self._losses(docs, False)]
        autograd.backward(zeros)

    def _sampled(self, batches, epoch):
        """sub_sample: each mini-batch kept with that probability; an epoch keeps at least one."""
        fraction = self.hp["sub_sample"]
        if fraction >= 1.0:
            yield from batches
            return
        rng = np.random.RandomState(SEED + 1000 * epoch + self.job.host_rank)
        kept, last = 0, None
        for b in batches:
            if rng.random_sample() < fraction:
                kept += 1
                yield b
            else:
                last = b
        if not kept and last is not None:
            yield last

    def epoch(self, epoch):
        hp, job = self.hp, self.job
        batches = iter(self._sampled(job.channel("train").batches(hp["mini_batch_size"], self.V, epoch=epoch - 1,
                                                                  label_size=0), epoch))
        local = Sums()
        nd_sums = []
        seen = 0
        while True:
            b = None if job.stop_requested() else next(batches, None)
            if b is None and self.kv is None:
                break
            n = 0
            if b is not None:
                docs = counts.Docs(b.features, self.V, self.ctxs, "train", seen)
                seen += len(b)
                n = docs.n
                with autograd.record():
                    losses = self._losses(docs, True)
                    totals = [rec + kl for rec, kl in losses]
                autograd.backward(totals)
                nd_sums.extend((rec.sum(), kl.sum()) for rec, kl in losses)
                local.add(0, 0, docs.n, docs.words)
                if self.embeddings is not None:
                    self.embeddings.add(*docs.raw)
            elif self.kv is not None:
                self._idle_step()
            step_n = n
            if self.kv is not None:
                step_n = float(self.hosts.sum([n])[0])
                if step_n == 0:
                    break
                self.hosts.sum_gradients()
            self.trainer.step(step_n)
        for rec, kl in nd_sums:
            local.v[0] += float(rec.asscalar())
            local.v[1] += float(kl.asscalar())
        return local

    def evaluate(self, channel, epoch=0):
        local = Sums()
        seen = 0
        for b in channel.batches(self.hp["mini_batch_size"], self.V, epoch=epoch, label_size=0):
            docs = counts.Docs(b.features, self.V, self.ctxs, channel.name, seen)
            seen += len(b)
            for rec, kl in self._losses(docs, False):
                local.add(float(rec.sum().asscalar()), float(kl.sum().asscalar()), 0, 0)
            local.add(0, 0, docs.n, docs.words)
        return Sums(self.hosts.sum(local.v))

    # ---- parameters -------------------------------------------------------------------------------
    def snapshot(self):
        return {name: p.data(self.ctxs[0]).copy() for name, p in self.net.collect_params().items()}

    def restore(self, arrays):
        for name, p in self.net.collect_params().items():
            p.set_data(arrays[name])


def _report(job, channel, sums, epoch=None):
    for name, value in sums.per_document().items():
        job.metrics.quality(channel, name, value, "loss", epoch=epoch)


def train(job):
    hp = job.hyperparameters
    V, K = hp["feature_dim"], hp["num_topics"]
    layers = network.encoder_sizes(hp["encoder_layers"], K)
    words = vocabmod.read(job.channel("auxiliary"), V)   # a wrong vocabulary fails before training
    t = Trainer(job, hp, layers)
    if words is not None:
        t.embeddings = vocabmod.Embeddings(V)
    validation = job.channel("validation")
    job.log.info("NTM: vocabulary %d, %d topics, encoder %s (%s%s), optimizer %s, %d host(s), contexts %s",
                 V, K, layers, hp["encoder_layers_activation"], ", batch norm" if hp["batch_norm"] else "",
                 hp["optimizer"], len(job.hosts), ",".join(str(c) for c in t.ctxs))
    patience = Patience(hp["num_patience_epochs"], hp["tolerance"])
    best, best_val = None, None
    for epoch in range(1, hp["epochs"] + 1):
        start = time.time()
        local = t.epoch(epoch)
        elapsed = max(time.time() - start, 1e-9)
        if epoch == 1:  # the first pass is enough for WETC's co-occurrence embeddings
            t.embeddings_done, t.embeddings = t.embeddings, None
        if job.stop_requested() and best is not None:
            break
        train_sums = Sums(t.hosts.sum(local.v))
        if train_sums.v[2] == 0:
            raise ClientError("channel train: no records%s" % (" for this epoch" if epoch > 1 else ""))
        _report(job, "train", train_sums, epoch)
        watched = train_sums
        if validation is not None:
            val_sums = t.evaluate(validation, epoch - 1)
            _report(job, "validation", val_sums, epoch)
            watched = val_sums
        loss = watched.per_document()["total_loss"]
        if not math.isfinite(loss):
            raise ClientError("epoch %d: the loss is %r; lower learning_rate or set clip_gradient" % (epoch, loss))
        if patience.update(loss, epoch):
            best = t.snapshot()
            best_val = watched if validation is not None else None
        job.metrics.throughput("train", local.v[2] / elapsed)
        job.metrics.progress(epoch / hp["epochs"])
        job.log.info("epoch %d: %d documents in %.2fs, %s total_loss %.6g (best %.6g at epoch %d)",
                     epoch, int(local.v[2]), elapsed, "validation" if validation is not None else "train",
                     loss, patience.best, patience.best_epoch)
        if patience.stop:
            job.log.info("early stopping at epoch %d: %s loss improved by less than tolerance %g for %d epochs; "
                         "keeping epoch %d", epoch, "validation" if validation is not None else "train",
                         hp["tolerance"], hp["num_patience_epochs"], patience.best_epoch)
            break
        if job.stop_requested():
            break
    if best is None:
        best = t.snapshot()
    t.restore(best)
    if best_val is not None:
        _report(job, "validation", best_val)
    arrays = t.snapshot()
    job.save_model(artifact.file_name(job.host_rank),
                   lambda path: artifact.write(path, arrays, hp, layers, patience.best_epoch or 0))
    test = job.channel("test")
    if test is not None and not job.stop_requested():
        test_sums = t.evaluate(test)
        _report(job, "test", test_sums)
        job.log.info("test: %d documents, perplexity %.6g", int(test_sums.v[2]), test_sums.perplexity())
    if words is not None and job.is_master:
        vocabmod.log_topics(job.log, arrays["projection_weight"].asnumpy(), words, t.embeddings_done)
