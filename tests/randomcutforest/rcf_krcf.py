"""krcf (a Rust port of AWS's Random Cut Forest) as the outside reference: forests trained like ours,
and a reader of its serialized trees into our artifact's arrays."""
import json

import krcf
import numpy as np

from containers.randomcutforest.forest import Forest


def trained(X, num_trees, sample_size, seed=7):
    """krcf forest fed every row of X; time decay 0 so each tree keeps a uniform sample, as ours."""
    f = krcf.RandomCutForest({"dimensions": X.shape[1], "shingle_size": 1, "num_trees": num_trees,
                              "sample_size": sample_size, "output_after": 1, "random_seed": seed,
                              "lambda": 0.0, "parallel_execution_enabled": False})
    for row in np.asarray(X, dtype=np.float64):
        f.update(row)
    return f


def scores(f, X):
    return np.array([f.score(row) for row in np.asarray(X, dtype=np.float64)])


def as_forest(f):
    """krcf's trees renumbered into our layout (tree by tree, breadth-first, siblings adjacent).

    A leaf holding k > 1 equal points gets mass k - 1: what AWS's Rust node store hands the scorer
    (nodestore.rs get_mass returns the duplicate count it keeps, which starts at 1 for the second
    copy). Our own trees keep the true count k, as the Java visitor sees it; only a query equal to
    such a leaf scores differently."""
    state = json.loads(f.to_json())["rcf"]
    d = state["dimensions"]
    store = np.array(state["point_store"]["store"], dtype=np.float32)
    location = state["point_store"]["location"]
    left, cut_dim, cut_value, lower, upper, mass, depth, roots = [], [], [], [], [], [], [], []
    tree_mass = None
    for st in state["sampler_plus_trees"]:
        tree = st["tree"]
        ns = tree["node_store"]
        cap = ns["capacity"]
        box = np.array(ns["bounding_box_data"], dtype=np.float32).reshape(-1, 2, d)
        leaf_mass = {int(k): v for k, v in ns["hash_mass_leaves"].items()}
        tree_mass = tree["tree_mass"] if tree_mass is None else tree_mass
        assert tree["tree_mass"] == tree_mass, "trees of different masses"

        def point(ref):
            off = location[ref - cap] * d
            return store[off:off + d]

        roots.append(len(mass))
        queue = [(tree["root"], 0)]
        while queue:  # breadth first; each node's two children get consecutive numbers
            nxt = []
            for ref, dep in queue:
                depth.append(dep)
                if ref >= cap:
                    p = point(ref)
                    left.append(-1), cut_dim.append(-1), cut_value.append(0.0)
                    lower.append(p), upper.append(p)
                    mass.append(leaf_mass.get(ref - cap, 1))
                else:
                    left.append(0)  # numbered below
                    cut_dim.append(ns["cut_dimension"][ref]), cut_value.append(ns["cut_value"][ref])
                    lower.append(box[ref, 0]), upper.append(box[ref, 1])
                    mass.append(ns["mass"][ref] + 1)
                    nxt += [(ns["left_index"][ref], dep + 1), (ns["right_index"][ref], dep + 1)]
            queue = nxt
    # children numbers: the k-th inner node of the whole listing owns the k-th pair of non-root nodes
    left = np.array(left)
    inner = np.nonzero(left >= 0)[0]
    non_root = np.setdiff1d(np.arange(len(left)), roots)
    left[inner] = non_root[0::2]
    return Forest(left.astype(np.int32), np.array(cut_dim, np.int32), np.array(cut_value, np.float32),
                  np.array(lower), np.array(upper), np.array(mass, np.int32), np.array(depth, np.int16),
                  np.array(roots, np.int32), tree_mass)
