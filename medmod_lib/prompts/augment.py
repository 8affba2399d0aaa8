"""Seeded textual augmentations of clinical prompts (MEDIMP-style, no language model).

Four kinds, each switchable: paraphrase templates, sentence shuffling
(demographics stay first), attribute dropout, and number formatting (rounding,
°C <-> °F). The same seed gives the same variants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .builder import Finding


@dataclass(frozen=True)
class PromptAugmenter:
    """Make textual variants of a prompt's findings.

    Args:
        paraphrase: pick a random template per finding.
        shuffle: shuffle the order of the findings after the first.
        dropout: probability of dropping each finding after the first.
        numbers: randomly round numbers and write temperatures in °F.

    Examples:
        >>> aug = PromptAugmenter()
        >>> variants = aug.variants(findings, n=4, seed=0)  # doctest: +SKIP
    """

    paraphrase: bool = True
    shuffle: bool = True
    dropout: float = 0.2
    numbers: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def __call__(self, findings: Sequence[Finding], rng: np.random.Generator) -> str:
        first, rest = list(findings[:1]), list(findings[1:])
        if self.dropout and rest:
            keep = rng.random(len(rest)) >= self.dropout
            rest = [f for f, k in zip(rest, keep, strict=True) if k]
        if self.shuffle and rest:
            rest = [rest[i] for i in rng.permutation(len(rest))]
        decimals = int(rng.integers(0, 2)) if self.numbers else None
        fahrenheit = bool(rng.random() < 0.3) if self.numbers else False
        parts = []
        for f in first + rest:
            variant = int(rng.integers(0, len(f.templates))) if self.paraphrase else 0
            parts.append(f.render(variant, decimals=decimals, fahrenheit=fahrenheit))
        return " ".join(parts)

    def variants(self, findings: Sequence[Finding], *, n: int, seed: int) -> list[str]:
        """``n`` augmented prompts; deterministic for ``seed``."""
        rng = np.random.default_rng(seed)
        return [self(findings, rng) for _ in range(n)]
