"""`train`: the program the platform runs as `docker run IMAGE train`."""
import logging
import os
import sys
import traceback

from training import algorithms, stopping
from training.env import Paths
from contract.errors import ClientError, PlatformError


def setup_logging():
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="[%(asctime)s %(levelname)s %(thread)d] %(message)s",
                        datefmt="%m/%d/%Y %H:%M:%S")


def _write_failure(paths, text):
    try:
        os.makedirs(paths.output, exist_ok=True)
        with open(paths.failure, "w") as f:
            f.write(text)
    except OSError:
        logging.getLogger("training").exception("could not write %s", paths.failure)


def main(argv=None):
    setup_logging()
    log = logging.getLogger("training")
    paths = Paths()
    job = None
    try:
        decl, module = algorithms.resolve()
        from training.job import TrainingJob
        job = TrainingJob(decl, paths)
        job.install_signal_handlers()
        module.train(job)
        job.finish()
    except stopping.Interrupted:
        log.info("stopped by SIGTERM while reading input")
        return 0
    except ClientError as e:
        log.error("ClientError: %s", e)
        sys.stdout.flush()
        _write_failure(paths, "ClientError: %s" % e)
        return 2
    except PlatformError as e:
        log.error("PlatformError: %s\n%s", e, traceback.format_exc())
        sys.stdout.flush()
        _write_failure(paths, "PlatformError: %s" % e)
        return 1
    except Exception as e:  # anything unexpected is the algorithm's fault, with the traceback logged
        log.error("AlgorithmError: %s\n%s", e, traceback.format_exc())
        sys.stdout.flush()
        _write_failure(paths, "AlgorithmError: %s: %s" % (type(e).__name__, e))
        return 1
    log.info("training finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
