"""Early stopping: stop when the loss has not improved by more than `tolerance` (relative) for
`num_patience_epochs` epochs in a row; keep the parameters of the lowest loss seen."""
import math


class Patience:
    def __init__(self, patience, tolerance):
        self.patience, self.tolerance = patience, tolerance
        self.reference = math.inf  # the loss at the last significant improvement
        self.best, self.best_epoch = math.inf, None
        self.waited = 0

    def update(self, loss, epoch):
        """Record an epoch's loss. Returns True when it is the lowest so far (keep these parameters)."""
        if not math.isfinite(self.reference) or loss < self.reference - self.tolerance * abs(self.reference):
            self.reference, self.waited = loss, 0
        else:
            self.waited += 1
        if loss < self.best:
            self.best, self.best_epoch = loss, epoch
            return True
        return False

    @property
    def stop(self):
        return self.waited >= self.patience
