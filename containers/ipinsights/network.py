"""The IP Insights network in Gluon: hashed entity embeddings against an IP encoder; score = dot product."""
import mxnet as mx
import numpy as np
from mxnet import gluon

from containers.ipinsights.pairs import IP_ROWS, PREFIXES

INPUTS = ["entity", "ip_prefix"]
_CSR_ROWS = ((1 << 31) - 1) // IP_ROWS


class IPInsightsNet(gluon.HybridBlock):
    """entity (n,) bucket ids and ip_prefix (n, 4) prefix-bucket ids -> (dot_product, entity_embedding,
    ip_embedding). The IP encoder sums the embeddings of the address's /8, /16, /24 and /32 prefixes, then
    applies num_ip_encoder_layers fully connected layers (ReLU between them, the last one linear)."""

    def __init__(self, num_entity_vectors, vector_dim, num_layers, sparse_grad=True, **kwargs):
        super().__init__(**kwargs)
        self._dim = vector_dim
        # Entity vectors start large and IP prefix embeddings small: the first updates then teach the
        # encoder's shared bias that random addresses are negatives (scores of unseen pairs fall below
        # zero), before the prefix embeddings separate the subnets.
        with self.name_scope():
            self.entity = gluon.nn.Embedding(num_entity_vectors, vector_dim, weight_initializer=mx.init.Normal(0.25),
                                             sparse_grad=sparse_grad, prefix="entity_")
            self.ip = gluon.nn.Embedding(IP_ROWS, vector_dim, weight_initializer=mx.init.Normal(0.01), sparse_grad=sparse_grad,
                                         prefix="ip_")
            # An address's encoder input is the sum of its PREFIXES rows. Adam moves every weight by about
            # the learning rate per step, so each row takes a 1/len(PREFIXES) share: the sum then moves
            # as fast as any other parameter, and one address's own rows (seen by no other address) do
            # not outrun the weights all addresses share. (Without it, the official client's case of
            # one repeated pair ends at +-0.01, where the service answers about -0.22; with it, -0.08
            # to -0.13 over seeds.)
            self.ip.weight.lr_mult = 1.0 / len(PREFIXES)
            self.encoder = gluon.nn.HybridSequential(prefix="ip_encoder_")
            with self.encoder.name_scope():
                for i in range(num_layers):
                    self.encoder.add(gluon.nn.Dense(vector_dim, flatten=False,
                                                    activation="relu" if i < num_layers - 1 else None))

    def _ip_vector(self, F, ip_prefix):
        # One lookup of every prefix id, prefix-major, so that (a) the four rows of an address are
        # four contiguous blocks to add (MXNet's sum over an axis of (n, 4, d) or (4, n, d) costs
        # several times the lookups) and (b) the table's gradient is one row_sparse array: several
        # lookups add into a dense gradient and turn Adam's lazy update into a full-table update.
        rows = self.ip(F.reshape(F.transpose(ip_prefix), shape=(-1,)))
        return self.encoder(F.add_n(*F.split(rows, num_outputs=len(PREFIXES), axis=0)))

    def encode_ip(self, ip_prefix):
        """(n, 4) prefix ids -> (n, vector_dim) IP vectors (imperative; training reuses them)."""
        return self._ip_vector(mx.nd, ip_prefix)

    def encode_ip_sparse(self, ip_prefix, ctx):
        """encode_ip for (n, 4) numpy prefix ids, the prefix sum done as one sparse product A . T (A: a
        row of four ones per address, T the table). Its backward is T's row_sparse gradient directly, so
        the (4n, d) block of looked-up rows, its split and the split's backward never exist: that cost
        ~1.7x the product, forward and backward, on a CPU. Rows are summed in the same order."""
        weight = self.ip.weight.data(ctx)
        ids = np.ascontiguousarray(ip_prefix, dtype=np.int64)
        k = ids.shape[1]
        parts = []
        # MXNet checks a sparse matrix's dense size (rows x IP_ROWS) against 2^31 elements
        for start in range(0, len(ids), _CSR_ROWS):
            block = ids[start:start + _CSR_ROWS]
            m = len(block)
            a = mx.nd.sparse.csr_matrix((np.ones(m * k, np.float32), block.reshape(-1), np.arange(0, m * k + 1, k)),
                                        shape=(m, IP_ROWS), ctx=ctx)
            parts.append(mx.nd.sparse.dot(a, weight))
        summed = parts[0] if len(parts) == 1 else mx.nd.concat(*parts, dim=0)
        return self.encoder(summed)

    def hybrid_forward(self, F, entity, ip_prefix):
        e = self.entity(entity)
        v = self._ip_vector(F, ip_prefix)
        return F.sum(e * v, axis=1), e, v
