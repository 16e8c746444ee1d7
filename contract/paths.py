"""Where the platform puts things: /opt/ml (or SAGEMAKER_BASE_DIR) and the config files in it."""
import json
import os

from contract.errors import ClientError


class Paths:
    def __init__(self, base=None):
        self.base = base or os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
        self.input = os.path.join(self.base, "input")
        self.config = os.path.join(self.input, "config")
        self.data = os.path.join(self.input, "data")
        self.model = os.path.join(self.base, "model")
        self.output = os.path.join(self.base, "output")
        self.output_data = os.path.join(self.output, "data")
        self.failure = os.path.join(self.output, "failure")

    def config_file(self, name):
        return os.path.join(self.config, name)


def read_json(path, default=None, required=False):
    if not os.path.exists(path):
        if required:
            raise ClientError("%s is missing" % path)
        return default
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError as e:
        raise ClientError("%s is not valid JSON: %s" % (path, e)) from None
