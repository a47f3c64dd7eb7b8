"""ingest/importers."""
