"""Shared plumbing of the ``vaar`` and ``vaar-bench`` command lines.

Each subcommand lives in its own module with three names: ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Those modules import only argparse-level
things at top level (heavy libraries are imported inside ``run``), so ``--help`` stays fast and
never imports torch. A user mistake (:class:`vaar.core.errors.InputError`) or a missing dependency
becomes one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from vaar import __version__
from vaar.core._util.quiet import quiet_third_party
from vaar.core.errors import InputError, MissingDependencyError


def make_main(prog: str, description: str, commands: dict[str, str]) -> Callable[[Sequence[str] | None], int]:
    """Build a ``main(argv)`` for ``prog`` whose subcommands are ``{name: module path}``."""

    def main(argv: Sequence[str] | None = None) -> int:
        parser = argparse.ArgumentParser(prog=prog, description=description)
        parser.add_argument("--version", action="version", version=f"{prog} {__version__}")
        sub = parser.add_subparsers(dest="command", metavar="COMMAND")
        runners = {}
        for name, module_path in commands.items():
            module = importlib.import_module(module_path)
            p = sub.add_parser(name, help=module.HELP, description=module.HELP)
            module.add_arguments(p)
            if not any("--verbose" in a.option_strings for a in p._actions):
                p.add_argument("--verbose", action="store_true",
                               help="also show third-party libraries' warnings, logs and progress bars")
            runners[name] = module.run
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        try:
            with quiet_third_party(not getattr(args, "verbose", False)):
                return int(runners[args.command](args))
        except (InputError, MissingDependencyError) as exc:
            print(f"{prog} {args.command}: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print(f"{prog} {args.command}: interrupted", file=sys.stderr)
            return 130

    return main
