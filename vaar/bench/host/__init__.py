"""The submission host: ``vaar-bench serve`` (web page + API) and ``vaar-bench worker`` over one store.

::

    HOSTDIR/
      host.db            SQLite, WAL: teams (token hashes), sessions, submissions (= the queue),
                         ladder state, an append-only audit log          (vaar.bench.host.store)
      host.json          the host's configuration: dataset, tasks, public fraction, quotas
      private/           mode 0700: labels.csv (the hidden test labels), secret
      uploads/           submitted files, written atomically before their row commits
      logs/              one scoring log a submission (validation and worker messages only)
      leaderboard/       the final board, rendered at `vaar-bench host freeze` (vaar.bench.render)

    browser / `vaar-bench submit --remote` ──HTTPS (reverse proxy)──► serve (Starlette + uvicorn)
        validate (the local contracts) ─► quota + insert (one transaction) ─► queued
    worker(s): claim (lease + heartbeat) ─► score public + private part ─► Ladder ─► scored

Nothing in this package imports torch; ``--model`` submissions are scored by the sandbox
(:mod:`vaar.bench.sandbox`), which never receives the labels' path.
"""
