"""Getting data in: agentslo records from JSONL and Parquet files, and importers for
other tools' files (tau-bench), validated at the boundary and written in atomic batches.

The formats are described in ``docs/formats.md``.
"""

from agentslo.ingest.detect import FORMATS, detect_format
from agentslo.ingest.errors import SourceError
from agentslo.ingest.importer import DEFAULT_BATCH_ROWS, FileResult, ImportResult, import_paths
from agentslo.ingest.rejects import DEFAULT_REJECTS_DIR, Reject

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "DEFAULT_REJECTS_DIR",
    "FORMATS",
    "FileResult",
    "ImportResult",
    "Reject",
    "SourceError",
    "detect_format",
    "import_paths",
]
