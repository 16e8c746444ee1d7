"""CSV the image takes beyond plain comma-separated numbers: another delimiter (it sniffs the first line,
as csv.Sniffer does) and empty fields, which xgboost's own CSV loader and the image's request parser read
as missing values. Rewritten to the plain form only after the fast parser refused the text."""
import csv
import re

_EMPTY = re.compile(rb"(?m)^,|,,|,\r?$")  # an empty field somewhere
DELIMITERS = ";\t| "


def delimiter(first_line):
    """',' or the delimiter the first line uses (`;`, tab, `|` or space), None if it has one field."""
    text = first_line.decode("utf-8", "replace").strip("\r\n")
    if "," in text:
        return ","
    try:
        return csv.Sniffer().sniff(text[:512], delimiters=DELIMITERS).delimiter
    except csv.Error:
        return None


def needs_rewrite(data):
    first = data[:data.find(b"\n")] if b"\n" in data else data
    d = delimiter(first)
    return (d is not None and d != ",") or _EMPTY.search(data) is not None


def rewrite(data):
    """The same records comma-separated, empty fields as nan; blank lines dropped."""
    first = data[:data.find(b"\n")] if b"\n" in data else data
    d = delimiter(first)
    if d and d != ",":
        data = data.replace(d.encode(), b",")
    lines = [b",".join(f.strip() or b"nan" for f in line.rstrip(b"\r").split(b","))
             for line in data.split(b"\n") if line.strip()]
    return b"\n".join(lines) + b"\n"
