"""The docker engine, through the docker CLI (no SDK needed)."""
import json
import subprocess


class DockerError(RuntimeError):
    pass


def available():
    """True when a docker engine answers (not just when the CLI is installed)."""
    try:
        p = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0 and bool(p.stdout.strip())


def run(args, check=True, timeout=600, capture=True):
    p = subprocess.run(["docker"] + list(args), stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None, timeout=timeout)
    if check and p.returncode != 0:
        raise DockerError("docker %s failed (%d): %s" % (" ".join(args[:3]), p.returncode,
                                                         (p.stderr or b"").decode("utf-8", "replace").strip()))
    return p


def image_exists(image):
    return run(["image", "inspect", image], check=False).returncode == 0


def image_env(image):
    """The image's baked-in environment as a dict (ALGORITHM among it)."""
    out = run(["image", "inspect", "--format", "{{json .Config.Env}}", image]).stdout
    env = {}
    for item in json.loads(out or b"[]") or []:
        k, _, v = item.partition("=")
        env[k] = v
    return env


# The checked declaration, metric regexes derived (contract.registry); images built before the contract
# package existed give the raw YAML of training.algorithms.
_DECL_SCRIPT = (
    "import json, os, yaml\n"
    "name = os.environ.get('ALGORITHM', '')\n"
    "try:\n"
    "    from contract import registry\n"
    "    decl = registry.declaration_of(name) if name in registry.available() else None\n"
    "except ImportError:\n"
    "    from training import algorithms\n"
    "    path = algorithms.available().get(name)\n"
    "    decl = yaml.safe_load(open(path)) if path else None\n"
    "print(json.dumps(decl, default=str))\n"
)


def algorithm_declaration(image):
    """The algorithm.yaml baked into the image, read with the image's own Python."""
    last = None
    for py in ("python3", "python"):
        p = run(["run", "--rm", "--network", "none", "--entrypoint", py, image, "-c", _DECL_SCRIPT],
                check=False, timeout=120)
        if p.returncode == 0:
            lines = p.stdout.decode("utf-8", "replace").strip().splitlines()
            return json.loads(lines[-1]) if lines else None
        last = p.stderr.decode("utf-8", "replace").strip()
    raise DockerError("cannot read the algorithm declaration from %s: %s" % (image, last))


def create_network(name):
    run(["network", "create", "--driver", "bridge", name])
    return name


def remove_network(name):
    run(["network", "rm", name], check=False)


def remove_container(name):
    run(["rm", "-f", name], check=False)


def signal_container(name, sig):
    run(["kill", "--signal", sig, name], check=False)
