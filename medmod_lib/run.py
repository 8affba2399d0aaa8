"""Main job: ``python -m medmod_lib.run`` (what ``make demo`` runs).

Placeholder until the notebook runner lands: generates (or reuses) the
synthetic dataset under the data root and prints its summary.
"""

from __future__ import annotations

import argparse

from . import paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m medmod_lib.run", description=__doc__)
    parser.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "gpu"])
    args = parser.parse_args(argv)
    from .synthetic import ensure_dataset, summarize

    root = ensure_dataset(paths.data_root())
    print(summarize(root))
    print(f"profile={args.profile}: notebooks are not wired in yet.")


if __name__ == "__main__":
    main()
