"""Random cut trees built level by level over all trees at once, stored as flat node arrays.

Every tree's points are kept contiguous in one array; each level cuts all open nodes together
(np.minimum.reduceat gives every node's bounding box), so building costs a few numpy calls per
level rather than per node.

Node arrays (N nodes; each tree's nodes contiguous, breadth-first inside a tree, siblings adjacent):
  left     (N,)   int32   the left child (the right child is left + 1); -1 for a leaf
  cut_dim  (N,)   int32   the cut's dimension; -1 for a leaf
  cut_value(N,)   float32 a point goes left when point[cut_dim] <= cut_value
  lower, upper (N, d) float32  the node's bounding box (a leaf's box is its point)
  mass     (N,)   int32   sample points under the node (a leaf holding duplicates has mass > 1)
  depth    (N,)   int16   root = 0
  roots    (T,)   int32   each tree's root
A cut's dimension is drawn in proportion to the box's range in it and its position uniformly inside
that range, as Guha et al. (2016) and AWS's RCF do.
"""
import numpy as np


class Forest:
    FIELDS = ("left", "cut_dim", "cut_value", "lower", "upper", "mass", "depth", "roots")

    def __init__(self, left, cut_dim, cut_value, lower, upper, mass, depth, roots, tree_mass):
        self.left, self.cut_dim, self.cut_value = left, cut_dim, cut_value
        self.lower, self.upper, self.mass, self.depth, self.roots = lower, upper, mass, depth, roots
        self.tree_mass = int(tree_mass)

    @property
    def num_trees(self):
        return len(self.roots)

    @property
    def dim(self):
        return self.lower.shape[1]

    @property
    def num_nodes(self):
        return len(self.mass)

    def info(self):
        leaves = self.cut_dim < 0
        depths = self.depth[leaves].astype(np.float64)
        w = self.mass[leaves]
        return {"num_trees": self.num_trees, "num_samples_per_tree": self.tree_mass,
                "num_samples_in_forest": self.num_trees * self.tree_mass, "sample_dim": self.dim,
                "num_nodes": self.num_nodes, "max_tree_depth": int(depths.max()) if len(depths) else 0,
                "avg_tree_depth": float((depths * w).sum() / max(w.sum(), 1))}


def build(samples, num_trees, rng):
    """A forest of num_trees trees over samples (num_trees * m, d): tree t gets rows t*m..(t+1)*m."""
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    n, d = samples.shape
    m = n // num_trees
    if m < 1 or m * num_trees != n:
        raise ValueError("%d samples do not split into %d equal trees" % (n, num_trees))
    pts = samples.copy()                    # reordered so every open node's points are contiguous
    starts = np.arange(num_trees, dtype=np.int64) * m
    sizes = np.full(num_trees, m, dtype=np.int64)
    ids = np.arange(num_trees, dtype=np.int64)  # node id of each open segment
    children, cut_dim, cut_value, lower, upper, mass, depth = [], [], [], [], [], [], []
    next_id = num_trees
    level = 0
    while len(ids):
        # boxes of the open nodes only (closed ones never come back): their points side by side
        open_rows = _ranges(starts, sizes)
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        cols = np.ascontiguousarray(pts[open_rows].T)   # reduceat runs along contiguous rows
        lo = np.minimum.reduceat(cols, first, axis=1).T
        hi = np.maximum.reduceat(cols, first, axis=1).T
        rng_dims = (hi - lo).astype(np.float64)
        total = rng_dims.sum(1)
        leaf = total <= 0                   # one point, or duplicates of one point
        cnt = len(ids)
        ch = np.full((cnt, 2), -1, dtype=np.int64)
        cd = np.full(cnt, -1, dtype=np.int64)
        cv = np.zeros(cnt, dtype=np.float32)
        split = np.nonzero(~leaf)[0]
        if len(split):
            u = rng.random(len(split)) * total[split]   # a point of the summed ranges
            cum = np.cumsum(rng_dims[split], axis=1)
            dim = np.minimum((cum <= u[:, None]).sum(1), d - 1)
            # skip a zero-range dimension a rounding error could land on
            while True:
                bad = rng_dims[split, dim] <= 0
                if not bad.any():
                    break
                dim[bad] = np.minimum(dim[bad] + 1, d - 1)
                dim[bad & (dim == d - 1) & (rng_dims[split, d - 1] <= 0)] = 0
            before = np.take_along_axis(cum, dim[:, None], 1)[:, 0] - rng_dims[split, dim]
            value = lo[split, dim].astype(np.float64) + (u - before)
            value = np.minimum(value, hi[split, dim].astype(np.float64))
            v32 = value.astype(np.float32)
            # float32 rounding may land on the box's top: step down so the right side is never empty
            top = v32 >= hi[split, dim]
            v32[top] = np.nextafter(hi[split, dim][top], np.float32(-np.inf))
            cd[split] = dim
            cv[split] = v32
            seg_of = np.repeat(np.arange(len(split)), sizes[split])
            rows = _ranges(starts[split], sizes[split])
            right = pts[rows, dim[seg_of]] > v32[seg_of]
            # stable partition of every segment at once: lefts keep their order, then rights
            r = right.astype(np.int64)
            cum_r = np.cumsum(r)
            seg_first = np.concatenate([[0], np.cumsum(sizes[split])[:-1]])
            before_r = (cum_r - r)[seg_first]               # rights before each segment
            nright = np.concatenate([before_r[1:], cum_r[-1:]]) - before_r
            nleft = sizes[split] - nright
            rank = np.arange(len(rows)) - seg_first[seg_of]  # position inside the segment
            rank_r = cum_r - 1 - before_r[seg_of]
            new_pos = starts[split][seg_of] + np.where(right, nleft[seg_of] + rank_r, rank - rank_r - 1)
            pts[new_pos] = pts[rows]
            new_ids = next_id + np.arange(2 * len(split)).reshape(-1, 2)
            next_id += 2 * len(split)
            ch[split] = new_ids
            new_starts = np.stack([starts[split], starts[split] + nleft], 1).reshape(-1)
            new_sizes = np.stack([nleft, nright], 1).reshape(-1)
        else:
            new_ids = np.zeros((0, 2), dtype=np.int64)
            new_starts = new_sizes = np.zeros(0, dtype=np.int64)
        children.append(ch)
        cut_dim.append(cd)
        cut_value.append(cv)
        lower.append(lo)
        upper.append(hi)
        mass.append(sizes.copy())
        depth.append(np.full(cnt, level))
        ids, starts, sizes = new_ids.reshape(-1), new_starts, new_sizes
        level += 1
    children = np.concatenate(children)
    tree = np.zeros(len(children), dtype=np.int64)  # breadth-first: a parent precedes its children
    tree[:num_trees] = np.arange(num_trees)
    for lvl_nodes in _by_level(np.concatenate(depth)):
        inner = lvl_nodes[children[lvl_nodes, 0] >= 0]
        tree[children[inner, 0]] = tree[inner]
        tree[children[inner, 1]] = tree[inner]
    # renumber tree by tree (a tree's nodes stay close in memory while points descend it)
    order = np.argsort(tree, kind="stable")
    new_id = np.empty_like(order)
    new_id[order] = np.arange(len(order))
    left = np.where(children[order, 0] >= 0, new_id[np.maximum(children[order, 0], 0)], -1)
    roots = new_id[np.arange(num_trees)]
    return Forest(left.astype(np.int32), np.concatenate(cut_dim)[order].astype(np.int32),
                  np.concatenate(cut_value)[order].astype(np.float32),
                  np.ascontiguousarray(np.concatenate(lower)[order]),
                  np.ascontiguousarray(np.concatenate(upper)[order]),
                  np.concatenate(mass)[order].astype(np.int32),
                  np.concatenate(depth)[order].astype(np.int16), roots.astype(np.int32), m)


def _by_level(depth):
    order = np.argsort(depth, kind="stable")
    cuts = np.searchsorted(depth[order], np.arange(1, depth.max() + 1)) if len(depth) else []
    return np.split(order, cuts)


def _ranges(starts, sizes):
    """Concatenation of arange(s, s + n) for every (s, n)."""
    total = int(sizes.sum())
    offs = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    return np.arange(total, dtype=np.int64) + offs
