class ClientError(Exception):
    """Something the user supplied is wrong: hyperparameters, channels or data."""


class ConfigError(ClientError):
    pass
