"""Input channels: files under input/data/<channel>/ (File) or FIFOs <channel>_<epoch> (Pipe)."""
import gzip
import io
import os
import stat
import time

from formats.codecs import parse_media_type
from training import readers, stopping
from training.errors import ClientError

CHUNK = 8 << 20


def _open_detecting_gzip(path):
    raw = io.open(path, "rb", buffering=0)
    buf = io.BufferedReader(raw, buffer_size=CHUNK)
    if buf.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buf, mode="rb")
    return buf


class Channel:
    def __init__(self, name, config, data_dir, host_rank=0, num_hosts=1, log=None, default_content_type=None):
        self.name = name
        self.config = config
        self.dir = os.path.join(data_dir, name)
        self.data_dir = data_dir
        # no ContentType (what the official client's record_set() sends): the algorithm's default
        self.content_type, self.params = parse_media_type(config.get("ContentType"), default_content_type)
        self.input_mode = config.get("TrainingInputMode", "File")
        self.distribution = config.get("S3DistributionType", "FullyReplicated")
        self.host_rank = host_rank
        self.num_hosts = num_hosts
        self.log = log

    @property
    def is_pipe(self):
        return self.input_mode.lower() == "pipe"

    @property
    def shared(self):
        """True when every host sees the same data and must take only its own share."""
        return self.num_hosts > 1 and self.distribution != "ShardedByS3Key"

    def files(self):
        """Every data file of the channel, recursively, hidden files skipped, in a stable order."""
        if not os.path.isdir(self.dir):
            raise ClientError("channel %s: directory %s does not exist" % (self.name, self.dir))
        out = []
        for root, dirs, names in os.walk(self.dir, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            out.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
        return out

    def pipe_path(self, epoch):
        return os.path.join(self.data_dir, "%s_%d" % (self.name, epoch))

    def streams(self, epoch=0, timeout=None):
        """Yield (display name, binary file object) for one pass over the channel."""
        if self.is_pipe:
            path = self.pipe_path(epoch)
            waited = 0.0
            while not os.path.exists(path):
                if stopping.requested():
                    return
                if timeout is not None and waited >= timeout:
                    raise ClientError("channel %s: pipe %s did not appear" % (self.name, path))
                time.sleep(0.05)
                waited += 0.05
            with stopping.blocking():  # opening a FIFO waits for its writer
                f = _open_detecting_gzip(path)
            with f:
                yield os.path.basename(path), f
            return
        files = self.files()
        if not files:
            raise ClientError("channel %s: no data files under %s" % (self.name, self.dir))
        for path in files:
            if stat.S_ISFIFO(os.stat(path).st_mode):
                continue
            with _open_detecting_gzip(path) as f:
                yield os.path.relpath(path, self.dir), f

    def shard(self, items):
        """This host's share of a sequence (batches, records, lines): the one sharding policy.

        Several hosts on FullyReplicated data each keep every num_hosts-th item; ShardedByS3Key data
        and a single host keep everything."""
        if not self.shared:
            yield from items
            return
        for k, item in enumerate(items):
            if k % self.num_hosts == self.host_rank:
                yield item

    def batches(self, batch_size, feature_dim=None, epoch=0, label_size=None):
        """Batches of batch_size records (the last may be smaller) from one pass over the channel,
        this host's share only (see shard)."""
        if label_size is None:
            label_size = 1
        label_size = int(self.params.get("label_size", label_size))
        source = readers.read(self, epoch, feature_dim, label_size)
        return readers.prefetch(self.shard(readers.rebatch(source, batch_size)))

    def read_all(self, feature_dim=None, epoch=0, label_size=None, batch_size=65536):
        """This host's share of the whole channel as one formats.Batch (None when it is empty)."""
        from formats.batch import concat
        parts = list(self.batches(batch_size, feature_dim, epoch, label_size))
        return concat(parts) if parts else None
