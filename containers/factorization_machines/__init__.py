"""Factorization Machines (the guide's `factorization-machines`): second-order FM, sparse AdaGrad."""
