"""Content-Type and Accept handling: which decoder and encoder a request gets, or which 4xx."""
from formats.codecs import parse_media_type


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def request_type(header, supported):
    mime, params = parse_media_type(header)
    if mime is None:
        raise HttpError(415, "missing Content-Type; supported: %s" % ", ".join(supported))
    if mime not in supported:
        raise HttpError(415, "unsupported Content-Type %s; supported: %s" % (header, ", ".join(supported)))
    return mime, params


def response_type(header, supported, default):
    """First acceptable type by q-value, in the client's order; */* and absence give the default."""
    if not header or not header.strip():
        return default, {}
    choices = []
    for i, part in enumerate(header.split(",")):
        mime, params = parse_media_type(part)
        if not mime:
            continue
        try:
            q = float(params.get("q", 1))
        except ValueError:
            q = 1.0
        choices.append((-q, i, mime, params))
    for _, _, mime, params in sorted(choices):
        if mime == "*/*":
            return default, params
        if mime.endswith("/*"):
            family = [s for s in supported if s.startswith(mime[:-1])]
            if family:
                return (default if default in family else family[0]), params
        elif mime in supported:
            return mime, params
    raise HttpError(406, "cannot produce %s; available: %s" % (header, ", ".join(supported)))
