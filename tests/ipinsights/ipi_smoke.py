"""Data for the docker smoke test (tests/images): logins from a few subnets per user."""
import numpy as np


def _rows(n, seed):
    rng = np.random.RandomState(seed)
    users = rng.randint(0, 50, size=n)
    return ["user_%d,10.%d.%d.%d" % (u, u % 7, u, rng.randint(1, 255)) for u in users]


def smoke(root):
    train = ("\n".join(_rows(2000, 0)) + "\n").encode()
    batch = ("\n".join(_rows(20, 2)) + "\n").encode()
    return {
        "channels": {"train": {"content_type": "text/csv", "files": {"logins.csv": train}},
                     "validation": {"content_type": "text/csv",
                                    "files": {"v.csv": ("\n".join(_rows(300, 1)) + "\n").encode()}}},
        "serve": {"body": b"user_1,10.1.1.9\nuser_2,10.2.2.9\n", "content_type": "text/csv",
                  "accept": "application/json", "records": 2},
        "transform": {"files": {"in.csv": batch}, "content_type": "text/csv", "accept": "application/jsonlines",
                      "split": "Line", "records": {"in.csv": 20}},
    }
