"""Synthetic logins: each user signs in from a few /24 subnets of their own."""
import numpy as np


def logins(n_users=150, per_user=3, n=12000, seed=0):
    rng = np.random.RandomState(seed)
    subnets = rng.randint(1, 224, size=(n_users, per_user, 3))  # a.b.c of each user's subnets
    users = rng.randint(0, n_users, size=n)
    which = rng.randint(0, per_user, size=n)
    hosts = rng.randint(1, 255, size=n)
    rows = []
    for u, w, h in zip(users, which, hosts):
        a, b, c = subnets[u, w]
        rows.append(("user_%d" % u, "%d.%d.%d.%d" % (a, b, c, h)))
    return rows, subnets


def csv(rows, space=False):
    sep = ", " if space else ","
    return ("\n".join(e + sep + ip for e, ip in rows) + "\n").encode()
