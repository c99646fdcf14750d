"""`make bench`: every benchmark under bench/, one table at the end.

Each module exposes ``run() -> list[dict]`` with the keys figure, goal,
measured, baseline and ratio (the baseline is measured in the same run).
"""

from __future__ import annotations

import importlib
import sys
import time
from typing import Any

BENCHMARKS = (
    "ingest",
    "telegram_fanout",
    "matrix_fanout",
    "digest_plan",
    "postgres_outbox",
    "email_fanout",
    "web_listen",
    "academie_friday",
)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)


def main(names: list[str]) -> int:
    rows: list[dict[str, Any]] = []
    for name in names or BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            print(f"bench.{name}: not present, skipped", file=sys.stderr)
            continue
        started = time.perf_counter()
        print(f"== bench.{name}", file=sys.stderr, flush=True)
        for row in module.run():
            rows.append({"bench": name, **row})
        print(f"   {time.perf_counter() - started:.1f} s", file=sys.stderr)
    columns = ("bench", "figure", "goal", "measured", "baseline", "ratio")
    table = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [
        max(len(c), *(len(r[i]) for r in table)) if table else len(c) for i, c in enumerate(columns)
    ]
    print(" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for line in table:
        print(" | ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
