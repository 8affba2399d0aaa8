"""Time the synthetic chest-radiograph renderer: ms/image at 320x272 and at full size.

Run: ``.venv/bin/python benchmarks/render_radiograph.py``. Reports CPU time (process_time),
which is stable on a shared machine; the work is single-threaded numpy and PIL.
"""

from __future__ import annotations

import time

import numpy as np

from medmod_lib.reference import CHEXPERT_LABELS
from medmod_lib.synthetic.radiograph import Anatomy, render_radiograph

SIZES = ((320, 272, 200), (3056, 2544, 10))  # rows, columns, images


def main() -> None:
    rng = np.random.default_rng(0)
    for height, width, n in SIZES:
        for view in ("PA", "AP", "LATERAL"):
            jobs = []
            for _ in range(n):
                names = [x for x in CHEXPERT_LABELS if rng.uniform() < 0.2]
                jobs.append(({x: float(rng.uniform(0.2, 1)) for x in names}, Anatomy.sample(rng)))
            render_radiograph({}, view=view, height=height, width=width, rng=rng)  # warm caches
            start = time.process_time()
            for findings, anatomy in jobs:
                render_radiograph(
                    findings, view=view, height=height, width=width, rng=rng, anatomy=anatomy
                )
            ms = (time.process_time() - start) / n * 1000
            print(
                f"{view:8s} {height}x{width}: {ms:7.1f} ms/image CPU  ({n} images, random findings)"
            )


if __name__ == "__main__":
    main()
