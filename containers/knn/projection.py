"""Dimension reduction that preserves L2 distances and inner products (G:5354-5358).

Both maps are regenerated from (type, seed, input_dim, target_dim), the four numbers the model's
JSON keeps, so training and serving apply the same one.
- sign: x @ R with R a (input_dim, target_dim) matrix of random signs / sqrt(target_dim); O(ndk).
- fjlt: the subsampled randomized Hadamard transform (a fast Johnson-Lindenstrauss transform): random
  signs, a Walsh-Hadamard transform of the zero-padded vector, target_dim of its coordinates chosen at
  random, scaled by 1/sqrt(target_dim); O(nd log d).
"""
import numpy as np


def _fwht(x):
    """Unnormalised Walsh-Hadamard transform along the rows of x (n, 2^p)."""
    n, d = x.shape
    h = 1
    while h < d:
        y = x.reshape(n, d // (2 * h), 2, h)
        a, b = y[:, :, 0, :], y[:, :, 1, :]
        x = np.stack((a + b, a - b), axis=2)
        h *= 2
    return x.reshape(n, d)


class Projection:
    def __init__(self, kind, seed, input_dim, target_dim):
        if kind not in ("sign", "fjlt"):
            raise ValueError("unknown dimension reduction type %r" % kind)
        self.kind, self.seed = kind, int(seed)
        self.input_dim, self.target_dim = int(input_dim), int(target_dim)
        rng = np.random.RandomState(self.seed)
        scale = np.float32(1.0 / np.sqrt(self.target_dim))
        if kind == "sign":
            signs = rng.randint(0, 2, size=(self.input_dim, self.target_dim)).astype(np.float32)
            self.matrix = (2 * signs - 1) * scale
        else:
            self.padded = 1 << max(0, (self.input_dim - 1).bit_length())
            if self.target_dim > self.padded:
                raise ValueError("fjlt: target_dim %d exceeds the transform width %d"
                                 % (self.target_dim, self.padded))
            self.signs = (2 * rng.randint(0, 2, size=self.input_dim) - 1).astype(np.float32)
            self.rows = np.sort(rng.choice(self.padded, self.target_dim, replace=False))
            self.scale = scale

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        if self.kind == "sign":
            return np.ascontiguousarray(x @ self.matrix)
        padded = np.zeros((x.shape[0], self.padded), dtype=np.float32)
        padded[:, :self.input_dim] = x * self.signs
        return np.ascontiguousarray(_fwht(padded)[:, self.rows] * self.scale)

    def describe(self):
        return {"type": self.kind, "seed": self.seed, "target_dim": self.target_dim,
                "input_dim": self.input_dim}
