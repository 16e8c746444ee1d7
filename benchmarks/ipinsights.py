"""IP Insights speed: `train` on 1,000,000 logins (vector_dim 128, default negatives, one epoch) against a plain
Gluon loop of the same network on in-memory batches, side by side; serving one CSV record p50.

    .venv/bin/python benchmarks/ipinsights.py [--logins 1000000]
"""
import argparse
import os
import re
import statistics
import tempfile
import time

from contract.registry import all_cpus_for_mxnet

all_cpus_for_mxnet()  # the baseline gets every CPU too, as `train` does for IP Insights (training_threads)
import mxnet as mx
import numpy as np
import requests
from mxnet import autograd, gluon

HERE = os.path.dirname(os.path.abspath(__file__))

from helpers import job_dir, run_train, served
from containers.ipinsights import pairs
from containers.ipinsights.network import IPInsightsNet


def data(n, users=50000, seed=0):
    rng = np.random.RandomState(seed)
    u = rng.randint(0, users, size=n)
    subnet = (u * 2654435761) % (1 << 24)
    ips = ((subnet << 8) | rng.randint(1, 255, size=n)).astype(np.uint32)
    text = "\n".join("user_%d,%d.%d.%d.%d" % (a, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255)
                     for a, ip in zip(u.tolist(), ips.tolist())) + "\n"
    return text.encode(), ["user_%d" % a for a in u.tolist()], ips


def plain_loop(entities, ips, hp):
    """The same network and negatives in the textbook Gluon loop, data already in memory: each batch's
    positives, random-IP and shuffled-IP pairs through the hybridized network, log loss, backward, Adam."""
    ent = pairs.entity_buckets([e.encode() for e in entities], hp["num_entity_vectors"])
    net = IPInsightsNet(hp["num_entity_vectors"], hp["vector_dim"], hp["num_ip_encoder_layers"])
    net.initialize()
    net.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.001, "wd": 1e-5})
    loss_fn = gluon.loss.SigmoidBinaryCrossEntropyLoss()
    rng = np.random.RandomState(1)
    bs = hp["mini_batch_size"]
    mx.nd.waitall()  # the tables' initial draws are set-up, as in `train`
    t = time.time()
    for s in range(0, len(ent), bs):
        e, a = ent[s:s + bs], ips[s:s + bs]
        n = len(e)
        rand = rng.randint(0, 1 << 32, size=n, dtype=np.uint64).astype(np.uint32)
        all_e = np.concatenate([e, e, e])
        all_ip = np.concatenate([a, rand, a[rng.permutation(n)]])
        y = mx.nd.array(np.concatenate([np.ones(n), np.zeros(2 * n)]))
        with autograd.record():
            dot, _, _ = net(mx.nd.array(all_e, dtype=np.int32), mx.nd.array(pairs.ip_buckets(all_ip), dtype=np.int32))
            loss = loss_fn(dot, y)
        loss.backward()
        trainer.step(3 * n)
        loss.mean().asscalar()
    mx.nd.waitall()
    return len(ent) / (time.time() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logins", type=int, default=1000000)
    args = ap.parse_args()
    hp = {"num_entity_vectors": 100000, "vector_dim": 128, "epochs": 1, "mini_batch_size": 10000,
          "random_negative_sampling_rate": 1, "shuffled_negative_sampling_rate": 1, "num_ip_encoder_layers": 1}
    body, entities, ips = data(args.logins)
    print("load average", os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        job_dir(tmp, {k: hp[k] for k in ("num_entity_vectors", "vector_dim", "epochs", "mini_batch_size")},
                {"train": {"content_type": "text/csv", "files": {"logins.csv": body}}})
        t = time.time()
        r = run_train(tmp, "ipinsights")
        wall = time.time() - t
        assert r.rc == 0, r.log[-2000:]
        rate = float(re.findall(r"train throughput=(\S+) records/second", r.log)[-1])
        plain = plain_loop(entities, ips, hp)
        print("train: %.0f samples/s (the program's throughput metric: the epoch, after reading), whole process %.1f s" % (rate, wall))
        print("plain Gluon loop on in-memory batches: %.0f samples/s; ratio ours/plain %.2f" % (plain, rate / plain))
        with served(tmp, "ipinsights") as s:
            sess = requests.Session()
            times = []
            for i in range(300):
                t = time.perf_counter()
                res = sess.post(s.url + "/invocations", data=b"user_17,10.1.2.3\n",
                                headers={"Content-Type": "text/csv", "Accept": "application/json"})
                times.append(time.perf_counter() - t)
                assert res.status_code == 200
            times = sorted(times[50:])
            print("serving one CSV record: p50 %.2f ms, p99 %.2f ms"
                  % (1000 * statistics.median(times), 1000 * times[int(0.99 * len(times))]))


if __name__ == "__main__":
    main()
