"""Find algorithms by the repository name the guide uses (ALGORITHM=linear-learner, ...).

Each containers/<package>/algorithm.yaml declares its name; nothing here lists algorithms, so adding
one never edits the runtime. Serving uses this module too.
"""
import importlib
import importlib.util
import os

import yaml

from training import declaration
from training.errors import ClientError


def _containers_dir():
    spec = importlib.util.find_spec("containers")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the containers package is not installed")
    return list(spec.submodule_search_locations)[0]


def available():
    """name -> path of algorithm.yaml, for every algorithm folder."""
    root = _containers_dir()
    found = {}
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry, "algorithm.yaml")
        if os.path.isfile(path):
            with open(path) as f:
                name = yaml.safe_load(f).get("name")
            if name:
                found[name] = path
    return found


def resolve(name=None):
    """(declaration, module) for ALGORITHM; ClientError listing the choices when it is unknown."""
    name = name if name is not None else os.environ.get("ALGORITHM")
    found = available()
    if not name or name not in found:
        raise ClientError("%s; available algorithms: %s"
                          % ("ALGORITHM is not set" if not name else "unknown ALGORITHM %r" % name,
                             ", ".join(sorted(found)) or "none"))
    decl = declaration.load(found[name])
    return decl, importlib.import_module(decl["module"])
