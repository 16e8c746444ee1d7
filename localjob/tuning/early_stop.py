"""TrainingJobEarlyStoppingType Auto: the service's median rule.

After each epoch (each value of the objective a job reports), take for every training job that started
earlier and has reached that epoch the running average of its objective up to it, and the median of those
averages; a job whose value at that epoch is worse than the median is stopped.
"""
import statistics

MIN_PEERS = 2  # below this the median of "previous jobs" says little; the service also waits for a few


def running_average(curve, epoch):
    head = curve[:epoch + 1]
    return sum(head) / len(head)


def median_at(peers, epoch):
    """The median of the earlier jobs' running averages at `epoch`, or None without enough of them."""
    averages = [running_average(c, epoch) for c in peers if len(c) > epoch]
    if len(averages) < MIN_PEERS:
        return None
    return statistics.median(averages)


def first_stop_epoch(curve, peers, minimize, start=0):
    """The first epoch from `start` at which `curve` is worse than the median, with that median; else None."""
    for epoch in range(start, len(curve)):
        med = median_at(peers, epoch)
        if med is None:
            continue
        if (curve[epoch] > med) if minimize else (curve[epoch] < med):
            return epoch, med
    return None
