"""FieldWatch central: the FastAPI aggregator (ingest, stores, alarms, query API)."""
