"""``vaar review``: a curator goes through candidate clips in a local web page.

::

    candidates.csv ──► candidates.py (rows, provenance columns kept)
    DIR/manifest.parquet (vaar build --candidates) ──► clip media, QC flags, sync verdict
          │
          ▼
    server.py (127.0.0.1, token, CSP) ◄──► page.py (keyboard UI; every field as text)
          │  POST /api/decide
          ▼
    decisions.py ──► reviewed.csv (accepted: a source list for vaar build)
                     reviewed.rejected.csv (rejected, with reasons)
                     reviewed.decisions.jsonl (every decision, in order; resume reads it)

    agreement.py: Cohen's kappa between two curators' files.
"""
