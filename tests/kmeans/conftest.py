import numpy as np
import pytest
from sklearn.datasets import load_digits


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    p = np.random.RandomState(0).permutation(len(X))
    return X[p].astype(np.float32), y[p].astype(np.float32)
