"""PCA: the Developer Guide's "Principal Component Analysis (PCA)" algorithm (repository name `pca`)."""
