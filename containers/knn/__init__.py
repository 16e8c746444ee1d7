"""k-nearest neighbours on FAISS: reservoir sample, optional sign/FJLT projection, Flat/IVF index."""
