"""CP decomposition of the whitened k x k x k moment tensor by alternating least squares (Kolda and
Bader 2009, section 3.4), restarted from several starting points; the best fit wins.

Each restart starts from the eigenvectors of a random slice T(I, I, theta): for the orthogonally
decomposable tensor that whitening produces they are the components themselves up to noise
(Jennrich's simultaneous diagonalisation), where random starts leave ALS in local optima for k >~ 10."""
import numpy as np


def _khatri_rao(a, b):
    """Column-wise Kronecker product, (I*J, R): row i*J + j is a[i] * b[j]."""
    return (a[:, None, :] * b[None, :, :]).reshape(-1, a.shape[1])


def _slice_start(T, rank, rng):
    theta = rng.standard_normal(T.shape[2])
    s, U = np.linalg.eigh(np.tensordot(T, theta, axes=([2], [0])))
    U = U[:, np.argsort(-np.abs(s))]
    if rank <= U.shape[1]:
        return U[:, :rank]
    return np.hstack([U, rng.standard_normal((T.shape[0], rank - U.shape[1]))])


def cp_als(T, rank, max_restarts, max_iterations, tol, seed=0, log=None):
    """T ~ sum_r lam[r] a_r o b_r o c_r; returns (lam, A, B, C, relative error) of the best restart."""
    k = T.shape[0]
    t1 = T.reshape(k, k * k)                      # mode-1 unfolding: T[i, j*k + l]
    t2 = T.transpose(1, 0, 2).reshape(k, k * k)   # mode-2: T[j, i*k + l]
    t3 = T.transpose(2, 0, 1).reshape(k, k * k)   # mode-3: T[l, i*k + j]
    norm2 = float(np.sum(T * T))
    rng = np.random.RandomState(seed)
    best = None
    for restart in range(max(1, max_restarts)):
        A = _slice_start(T, rank, rng)
        B, C = A.copy(), A.copy()
        lam = np.ones(rank)
        prev = None
        err = np.inf
        for it in range(max_iterations):
            A = np.linalg.lstsq((B.T @ B) * (C.T @ C), (t1 @ _khatri_rao(B, C)).T, rcond=None)[0].T
            A /= np.maximum(np.linalg.norm(A, axis=0), 1e-300)
            B = np.linalg.lstsq((A.T @ A) * (C.T @ C), (t2 @ _khatri_rao(A, C)).T, rcond=None)[0].T
            B /= np.maximum(np.linalg.norm(B, axis=0), 1e-300)
            mttkrp = t3 @ _khatri_rao(A, B)
            gram = (A.T @ A) * (B.T @ B)
            C = np.linalg.lstsq(gram, mttkrp.T, rcond=None)[0].T
            lam = np.linalg.norm(C, axis=0)
            C /= np.maximum(lam, 1e-300)
            # ||T - X||^2 = ||T||^2 - 2 <T, X> + ||X||^2 without forming X
            inner = float(np.sum(mttkrp * C * lam))
            xnorm = float(lam @ (gram * (C.T @ C)) @ lam)
            err = np.sqrt(max(norm2 - 2 * inner + xnorm, 0.0) / max(norm2, 1e-300))
            if prev is not None and abs(prev - err) < tol:
                break
            prev = err
        if log:
            log.info("ALS restart %d: %d iterations, relative error %.6g", restart, it + 1, err)
        if best is None or err < best[4]:
            best = (lam.copy(), A.copy(), B.copy(), C.copy(), err)
    return best


def symmetric_components(T, lam, A, B, C):
    """Each component as one unit vector v with T(v, v, v) > 0, and that value as its weight."""
    V = A + np.sign(np.sum(A * B, axis=0)) * B + np.sign(np.sum(A * C, axis=0)) * C
    V /= np.maximum(np.linalg.norm(V, axis=0), 1e-300)
    w = np.einsum("ijk,ir,jr,kr->r", T, V, V, V)
    sign = np.where(w < 0, -1.0, 1.0)
    return np.abs(w), V * sign
