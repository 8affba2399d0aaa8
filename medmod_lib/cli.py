"""How the kit's commands end on an error: one clear message and a non-zero exit.

Every ``python -m medmod_lib.<tool>`` runs its ``main`` through :func:`run`. An
exception becomes one line on stderr (``<prog>: error: <message>``) and exit status 1
(130 after Ctrl-C). ``--debug`` or ``MEDMOD_DEBUG=1`` shows the full traceback
instead. Disk-full and permission errors name the path and what to do.

Examples:
    >>> if __name__ == "__main__":  # doctest: +SKIP
    ...     sys.exit(cli.run(main, prog="python -m medmod_lib.prepare"))
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

DEBUG_ENV = "MEDMOD_DEBUG"
DEBUG_FLAG = "--debug"


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """Declare ``--debug`` (read by :func:`run`) so that ``--help`` lists it."""
    parser.add_argument(
        DEBUG_FLAG,
        action="store_true",
        help=f"show the full traceback of an error (or set {DEBUG_ENV}=1)",
    )


def debugging(argv: Sequence[str] | None = None) -> bool:
    """True with ``--debug`` among the arguments or ``MEDMOD_DEBUG`` set to a true value."""
    argv = sys.argv[1:] if argv is None else argv
    env = os.environ.get(DEBUG_ENV, "").strip().lower()
    return DEBUG_FLAG in argv or env not in ("", "0", "false", "no")


def describe(err: BaseException) -> str:
    """One readable sentence for ``err``; OS errors name their path and the fix."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        where = err.filename or "the output or scratch folder"
        return (
            f"no space left on the device while writing {where} ({err.strerror}). Free some "
            "space or choose an output / scratch folder on a larger disk "
            "(MEDMOD_OUTPUT_DIR, --out, DuckDB temp_directory)."
        )
    if isinstance(err, PermissionError) or (
        isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    ):
        where = err.filename or "a file"
        return (
            f"permission denied on {where} ({err.strerror}). Choose a folder you can write "
            "to, or fix its permissions."
        )
    if isinstance(err, OSError) and err.filename and str(err.filename) not in str(err):
        return f"{err} ({err.filename})"
    if isinstance(err, KeyError):
        return f"missing key {err}"
    return str(err) or type(err).__name__


def run(main: Callable[[list[str] | None], Any], prog: str, argv: list[str] | None = None) -> int:
    """Call ``main(argv)``; turn an exception into one message and an exit status.

    Returns:
        ``main``'s integer result, 0 for any other result, 1 after an error, 130 after
        Ctrl-C. With :func:`debugging` the exception propagates (full traceback).
    """
    try:
        result = main(argv)
    except KeyboardInterrupt:
        if debugging(argv):
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the edge where every error becomes a message
        if debugging(argv):
            raise
        print(f"{prog}: error: {describe(err)}", file=sys.stderr)
        print(f"(run again with {DEBUG_FLAG} or {DEBUG_ENV}=1 for the traceback)", file=sys.stderr)
        return 1
    return result if isinstance(result, int) and not isinstance(result, bool) else 0
