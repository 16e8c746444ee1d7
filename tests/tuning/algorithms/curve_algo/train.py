"""loss(epoch) = 1 / (1 + 3 * rate * (epoch + 1)): a higher rate is better at every epoch."""
import json
import time


def loss(rate, epoch):
    return 1.0 / (1.0 + 3.0 * rate * (epoch + 1))


def train(job):
    hp = job.hyperparameters
    done = 0
    for epoch in range(hp["epochs"]):
        if job.stop_requested():
            break
        job.metrics.quality("validation", "loss", loss(hp["rate"], epoch), epoch=epoch)
        done += 1
        time.sleep(hp["epoch_seconds"])

    def write(path):
        with open(path, "w") as f:
            json.dump({"rate": hp["rate"], "epochs_done": done}, f)
    job.save_model("curve.json", write)
