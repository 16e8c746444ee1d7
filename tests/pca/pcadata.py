"""Data for the PCA tests: scikit-learn's digits, written the way the official client writes it, and
the reference answers from scikit-learn / numpy."""
import io

import numpy as np
import scipy.sparse as sp
from sagemaker import PCA as ClientPCA
from sagemaker.amazon.common import write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor
from scipy.linalg import subspace_angles
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from helpers import client_session

ALGO = "pca"
RECORDIO = "application/x-recordio-protobuf"
K = 10


def digits():
    X, _ = load_digits(return_X_y=True)
    return X  # int64, 1797 x 64


def dense_recordio(X):
    """float32 -> Float32Tensor, float64 -> Float64Tensor, int64 -> Int32Tensor (the client's choice)."""
    buf = io.BytesIO()
    write_numpy_to_dense_tensor(buf, np.asarray(X))
    return buf.getvalue()


def sparse_recordio(X):
    buf = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buf, sp.csr_matrix(X))
    return buf.getvalue()


def csv(X):
    return ("\n".join(",".join("%g" % v for v in row) for row in X) + "\n").encode()


def sklearn_pca(X, k=K):
    return PCA(k, svd_solver="full").fit(np.asarray(X, dtype=np.float64))


def max_angle(a, b):
    """Largest principal angle (radians) between the column spaces of a and b."""
    return float(subspace_angles(np.asarray(a, np.float64), np.asarray(b, np.float64)).max())


def captured_variance(X, v, mean):
    """Share of the centred data's variance kept by projecting on the columns of v."""
    Xc = np.asarray(X, np.float64) - np.asarray(mean, np.float64).reshape(1, -1)
    q, _ = np.linalg.qr(np.asarray(v, np.float64))
    return float(((Xc @ q) ** 2).sum() / (Xc ** 2).sum())


def aligned(reference, ours):
    """reference's columns with signs flipped to agree with ours (a component's sign is arbitrary)."""
    signs = np.sign(np.sum(reference * ours, axis=0))
    signs[signs == 0] = 1
    return reference * signs


def client_hyperparameters(**kw):
    """What the official client's PCA estimator sends (fit() adds feature_dim and mini_batch_size)."""
    est = ClientPCA(role="arn:aws:iam::123456789012:role/x", instance_count=1, instance_type="ml.c5.xlarge",
                    sagemaker_session=client_session(), **kw)
    est.feature_dim = 64
    est.mini_batch_size = 500
    return est.hyperparameters()
