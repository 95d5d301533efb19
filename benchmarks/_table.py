"""What the benchmark scripts share: the CSV they rewrite after every row (a long run keeps what it measured)."""

from __future__ import annotations

import csv
from pathlib import Path


def write_csv(path: Path, rows: list) -> None:
    """Write ``rows`` (dicts with the same keys) to ``path``, replacing it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
