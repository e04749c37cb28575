"""``SHA256SUMS``: the ``sha256sum`` format, parsed by one function with one rule.

One line per file: ``<64 hex>  <name>`` (``sha256sum`` writes ``*name`` in binary mode; the
``*`` is accepted). Names are plain file names in the same folder (no ``/``). The rule, the same
for ``vaar split --check``, ``vaar publish --splits`` and ``vaar-bench score --dataset``:

* ``SHA256SUMS`` itself missing is a violation (the folder cannot be verified);
* a file listed but missing is a violation;
* a file whose sha256 differs from its line is a violation;
* a malformed line is a violation.

:func:`parse_sums` returns the listed digests and the problems as one-line messages; callers
that stop at the first problem use :func:`read_sums` / :func:`verify_listed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vaar.core._util.hashing import sha256_bytes
from vaar.core.errors import ManifestError

SUMS_FILE = "SHA256SUMS"
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class SumsProblem:
    """One broken rule of a ``SHA256SUMS`` file; ``name`` is the file concerned."""

    name: str
    message: str


def render_sums(digests: dict[str, str]) -> str:
    """The text of a ``SHA256SUMS`` for ``{name: sha256}``, sorted by name."""
    return "".join(f"{digests[n]}  {n}\n" for n in sorted(digests))


def parse_sums(path: Path) -> tuple[dict[str, str], list[SumsProblem]]:
    """``({name: sha256}, problems)`` of the ``SHA256SUMS`` at ``path`` (checksums not verified)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}, [SumsProblem(SUMS_FILE, f"{path}: missing; a split folder needs {SUMS_FILE} "
                                "(re-run `vaar split` or restore it from git)")]
    listed: dict[str, str] = {}
    problems: list[SumsProblem] = []
    for n, line in enumerate(text.splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep:  # `sha256sum -b` style: "<hex> *name"
            digest, sep, name = line.partition(" *")
        name = name.lstrip("*")
        digest = digest.lower()
        if not sep or len(digest) != 64 or not set(digest) <= _HEX or not name or "/" in name:
            problems.append(SumsProblem(SUMS_FILE, f"{path} line {n}: not `<sha256>  <file>`"))
            continue
        listed[name] = digest
    return listed, problems


def check_file(folder: Path, name: str, listed: dict[str, str], data: bytes | None = None) -> SumsProblem | None:
    """The problem with file ``name`` of ``folder`` against ``listed`` (None when it matches)."""
    fp = Path(folder) / name
    if data is None:
        try:
            data = fp.read_bytes()
        except OSError:
            return SumsProblem(name, f"{fp}: listed in {SUMS_FILE} but missing" if name in listed
                               else f"{fp}: missing")
    if name not in listed:
        return SumsProblem(name, f"{fp}: not listed in {SUMS_FILE}")
    digest = sha256_bytes(data)
    if listed[name] != digest:
        return SumsProblem(name, f"{fp}: sha256 {digest[:12]}… does not match {SUMS_FILE} "
                           f"({listed[name][:12]}…); the file changed after the split was made — "
                           "restore it from git or re-run `vaar split`")
    return None


def read_sums(folder: Path) -> dict[str, str]:
    """``{name: sha256}`` of ``folder/SHA256SUMS``; raises :class:`ManifestError` on any problem."""
    listed, problems = parse_sums(Path(folder) / SUMS_FILE)
    if problems:
        raise ManifestError(problems[0].message)
    return listed


def verify_listed(folder: Path, names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Verify ``names`` (and every other listed file) of ``folder`` against its ``SHA256SUMS``.

    Returns ``{name: sha256}`` as listed; raises :class:`ManifestError` naming the first problem.
    """
    listed = read_sums(folder)
    for name in [*names, *sorted(set(listed) - set(names))]:
        problem = check_file(folder, name, listed)
        if problem is not None:
            raise ManifestError(problem.message)
    return listed


def split_digest(folder: Path) -> str:
    """sha256 of ``SHA256SUMS``: one id for the whole split version (checksums not verified)."""
    path = Path(folder) / SUMS_FILE
    try:
        return sha256_bytes(path.read_bytes())
    except OSError:
        raise ManifestError(f"{path}: missing; a split folder needs {SUMS_FILE} "
                            "(make one with `vaar split`)") from None
