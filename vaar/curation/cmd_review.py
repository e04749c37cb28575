"""``vaar review``: keyboard review of candidate clips in a local page; curator agreement."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "review candidate clips in a local web page (accept, reject, relabel, trim); --agreement A B: kappa"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("candidates", nargs="?", type=Path, help="candidate list CSV (e.g. from `vaar discover`)")
    p.add_argument("--media", type=Path, help="build folder of `vaar build --candidates` (its manifest and clips)")
    p.add_argument("--out", type=Path, help="reviewed source list to write (e.g. reviewed.csv); resumed if it exists")
    p.add_argument("--reviewer", metavar="ID",
                   help="who reviews (recorded with every decision and in reviewed_by; default: $USER)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--agreement", nargs=2, type=Path, metavar=("A", "B"),
                   help="compare two curators' reviewed.csv (or *.decisions.jsonl): Cohen's kappa, disagreements")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from vaar.core.errors import ConfigError

    if args.agreement:
        if args.candidates or args.media or args.out:
            raise ConfigError("--agreement A B takes no candidate list, --media or --out")
        return _agreement(*args.agreement)
    if args.candidates is None or args.media is None or args.out is None:
        raise ConfigError("usage: vaar review CANDIDATES.csv --media BUILD_DIR --out reviewed.csv "
                          "(or --agreement A.csv B.csv)")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a port number")
    return _serve(args.candidates, args.media, args.out, args.port, _reviewer(args.reviewer))


def _reviewer(given: str | None) -> str:
    """The reviewer id: 1-64 letters, digits, ``._@-`` (it lands in a CSV cell and a page)."""
    import getpass
    import re

    from vaar.core.errors import ConfigError

    rid = given if given is not None else (getpass.getuser() or "curator")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}", rid):
        if given is None:
            return "curator"
        raise ConfigError(f"--reviewer {rid[:80]!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
    return rid


def _serve(candidates: Path, media: Path, out: Path, port: int, reviewer: str) -> int:
    from vaar.core.errors import ConfigError
    from vaar.curation.review.server import ReviewServer
    from vaar.curation.review.session import ReviewSession

    if not media.is_dir():
        raise ConfigError(f"--media {media}: not a folder; give the build folder of `vaar build --candidates`")
    session = ReviewSession(candidates, media, out, reviewer=reviewer)
    try:
        server = ReviewServer(session, port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); pick another --port or 0") from None
    n, done = len(session.candidates), len(session.store.decisions)
    kinds = [m.kind for c in session.candidates if (m := session.media(c.clip_id)) is not None]
    built, previews = kinds.count("clip"), kinds.count("source")
    print(f"{reviewer} reviewing {n} candidate(s) ({built} with a built clip, {previews} with a source preview, "
          f"{done} already decided) -> {out}")
    print(f"open {server.url}  (Ctrl-C to stop; every decision is saved as it is made)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    d = session.store.decisions.values()
    acc = sum(1 for x in d if x.action == "accept")
    print(f"\n{acc} accepted, {len(session.store.decisions) - acc} rejected, "
          f"{n - len(session.store.decisions)} undecided; written to {out}")
    return 0


def _agreement(a: Path, b: Path) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from vaar.core.taxonomy import default_taxonomy
    from vaar.curation.review.agreement import agreement, read_calls

    tax = default_taxonomy()
    rep = agreement(read_calls(a), read_calls(b), tax.slugs)

    def k(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    con = Console()
    con.print(escape(f"{rep.n} clip(s) decided by both ({rep.only_a} only in {a}, {rep.only_b} only in {b})"))
    t = Table(title="Cohen's kappa (per class: one-vs-rest on 'accepted as this class'; rejected: 'rejected?')")
    t.add_column("class")
    t.add_column("kappa", justify="right")
    t.add_column("A", justify="right")
    t.add_column("B", justify="right")
    for name, (kappa, na, nb) in rep.per_class.items():
        if na or nb:
            t.add_row(escape(name), k(kappa), str(na), str(nb))
    obs = "n/a" if rep.observed is None else f"{100 * rep.observed:.1f}% agree"
    t.add_row("[bold]overall", f"[bold]{k(rep.overall)}", "", obs)
    con.print(t)
    if rep.disagreements or rep.span_disagreements:
        d = Table(title=f"to settle ({len(rep.disagreements)} decision(s), {len(rep.span_disagreements)} span(s))")
        d.add_column("clip_id")
        d.add_column(escape(str(a)))
        d.add_column(escape(str(b)))
        for row in rep.disagreements + rep.span_disagreements:
            d.add_row(*(escape(x) for x in row))
        con.print(d)
    else:
        con.print("no disagreements")
    return 0
