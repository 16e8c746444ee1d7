"""Find algorithms by the repository name the guide uses (ALGORITHM=linear-learner, ...).

Each containers/<package>/algorithm.yaml declares its name; nothing here lists algorithms, so adding
one never edits the runtime. Training imports only the declared training module and serving only
the declared serving module, so a serving worker never loads training-only code.
"""
import importlib
import importlib.util
import os

import yaml

# libyaml's loader where PyYAML has it: the pure-Python one takes a second for every declaration
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from contract import declaration
from contract.errors import ClientError


def containers_dir():
    spec = importlib.util.find_spec("containers")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the containers package is not installed")
    return list(spec.submodule_search_locations)[0]


def search_dirs():
    """The containers package, then any directories in ALGORITHM_PATH (colon-separated; tests put
    the runtime's own test algorithm there, whose modules must be importable)."""
    extra = [d for d in os.environ.get("ALGORITHM_PATH", "").split(os.pathsep) if d]
    return [containers_dir()] + extra


def available():
    """name -> path of algorithm.yaml, for every algorithm folder."""
    found = {}
    for root in search_dirs():
        if not os.path.isdir(root):
            continue
        for entry in sorted(os.listdir(root)):
            path = os.path.join(root, entry, "algorithm.yaml")
            if os.path.isfile(path):
                with open(path) as f:
                    name = (yaml.load(f, Loader=_LOADER) or {}).get("name")
                if name and name not in found:
                    found[name] = path
    return found


def declaration_of(name=None):
    """The checked declaration of ALGORITHM; ClientError listing the choices when it is unknown."""
    name = name if name is not None else os.environ.get("ALGORITHM")
    found = available()
    if not name or name not in found:
        raise ClientError("%s; available algorithms: %s"
                          % ("ALGORITHM is not set" if not name else "unknown ALGORITHM %r" % name,
                             ", ".join(sorted(found)) or "none"))
    return declaration.load(found[name])


def resolve(name=None, side="training"):
    """(declaration, module) of the algorithm's training or serving entry point."""
    decl = declaration_of(name)
    module = decl["training"] if side == "training" else decl["serving"]["module"]
    if side == "training" and decl["training_threads"] == "all":
        all_cpus_for_mxnet()
    return decl, importlib.import_module(module)


def all_cpus_for_mxnet():
    """MXNet's operators use half the CPUs unless told otherwise (it takes every other one for a
    hyper-thread twin): on a 2-CPU machine, one. It reads MXNET_OMP_MAX_THREADS once, when it loads,
    so this runs before the algorithm's module imports it; a value already set wins."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    os.environ.setdefault("MXNET_OMP_MAX_THREADS", str(cpus))
