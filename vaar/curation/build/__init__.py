"""``vaar build``: source list → download → trim → verify → ledger → ``manifest.parquet``.

One stage a module (sources, download, media, verify, sync, quality, fingerprint), the ledger and
the manifest writer, and the pipeline that runs the stages on a backend (local or Ray).
"""
