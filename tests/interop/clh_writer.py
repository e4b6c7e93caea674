"""A Python CLH writer for the interop test (tests/it/interop_python.rs).

Usage: clh_writer.py LOG WRITER COUNT MAX_BYTES BACKUPS USE_GZIP

Logs COUNT records "wNNN sNNNNNNNNN <filler>" through concurrent-log-handler's
ConcurrentRotatingFileHandler, the way a Python service would.
"""

import logging
import sys

from concurrent_log_handler import ConcurrentRotatingFileHandler

FILLER = "abcdefghijklmnopqrstuvwxyz0123456789"


def main() -> None:
    log, writer, count, max_bytes, backups, use_gzip = sys.argv[1:7]
    handler = ConcurrentRotatingFileHandler(
        log,
        maxBytes=int(max_bytes),
        backupCount=int(backups),
        use_gzip=use_gzip == "1",
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s")
    )
    logger = logging.getLogger(f"interop{writer}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    writer = int(writer)
    for seq in range(int(count)):
        logger.info("w%03d s%09d %s", writer, seq, FILLER)
    handler.close()


if __name__ == "__main__":
    main()
