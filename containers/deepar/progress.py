"""A GluonTS Trainer callback printing the service's per-epoch lines, stopping early
(early_stopping_patience) and on SIGTERM. GluonTS's own default callbacks still run: they keep the
parameters of the epoch with the lowest loss, which is the model the service returns."""
import time

from gluonts.mx.trainer.callback import Callback


class EpochReport(Callback):
    def __init__(self, job, epochs, records_per_epoch, patience=None):
        self.job, self.epochs, self.records_per_epoch, self.patience = job, epochs, records_per_epoch, patience
        self.best = float("inf")
        self.since_best = 0
        self.last_loss = None
        self.epochs_run = 0
        self._t = None

    def on_train_epoch_start(self, training_network):
        self._t = time.time()

    def on_train_batch_end(self, training_network):
        return not self.job.stop_requested()

    def on_train_epoch_end(self, epoch_no, epoch_loss, training_network, trainer, **kwargs):
        job = self.job
        elapsed = max(time.time() - (self._t or time.time()), 1e-9)
        self.last_loss = float(epoch_loss)
        self.epochs_run = epoch_no + 1
        job.metrics.throughput("train", self.records_per_epoch / elapsed)
        job.metrics.progress(self.epochs_run / float(self.epochs))
        job.metrics.quality("train", "loss", epoch_loss, kind="loss", epoch=epoch_no)
        if epoch_loss < self.best:
            self.best, self.since_best = float(epoch_loss), 0
            job.log.info("best epoch loss so far")
        else:
            self.since_best += 1
            job.log.info("loss did not improve")
        if self.patience is not None and self.since_best >= self.patience:
            job.log.info("Loss has not improved in %d epochs; stopping early (early_stopping_patience=%d)",
                         self.since_best, self.patience)
            return False
        if job.stop_requested():
            job.log.info("stop requested: keeping the best epoch so far")
            return False
        return True
