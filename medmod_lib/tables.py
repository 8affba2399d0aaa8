"""Small table helpers shared by reports and data cards (no extra dependency)."""

from __future__ import annotations

import pandas as pd


def markdown_table(frame: pd.DataFrame, *, index: bool = True, floatfmt: str = ".3g") -> str:
    """Render a frame as a GitHub-flavoured markdown table.

    Examples:
        >>> print(markdown_table(pd.DataFrame({"n": [1, 2]}, index=["a", "b"])))
        |   | n |
        |---|---|
        | a | 1 |
        | b | 2 |
    """
    df = frame.reset_index() if index else frame
    if index and (frame.index.name is None):
        df = df.rename(columns={df.columns[0]: ""})

    def fmt(value) -> str:
        if isinstance(value, float):
            return "" if pd.isna(value) else format(value, floatfmt)
        return "" if value is None or value is pd.NA else str(value).replace("|", "\\|")

    header = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *body])
