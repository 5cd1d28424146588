"""Rewrite the README's table of bundled presets, and its list of missed targets, from their
metadata.json (never by hand).

    python scripts/model_table.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kerasae.presets.cards import missed_targets

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- presets:start -->", "<!-- presets:end -->"


def table() -> str:
    rows = ["| preset | variant | data | metrics on held-out data (target) |", "|---|---|---|---|"]
    targets, missed = 0, []
    for meta_path in sorted((ROOT / "weights").glob("*/metadata.json")):
        meta = json.loads(meta_path.read_text())
        targets += sum(1 for m in meta.get("metrics", {}).values() if m.get("target"))
        missed += [f"`{meta['name']}` {line}" for line in missed_targets(meta.get("metrics", {}))]
        parts = []
        for name, m in sorted(meta.get("metrics", {}).items()):
            target = f" ({m['target']})" if m.get("target") else ""
            parts.append(f"{name} = {m['value']:g}{target}")
        dataset = meta.get("dataset", {}).get("name", "")
        rows.append(f"| `{meta['name']}` | `{meta['variant']}` | {dataset} | "
                    f"{'; '.join(parts) or 'not evaluated yet'} |")
    summary = f"{targets - len(missed)} of {targets} targets are met." + (
        " Missed, as the cards say:\n\n" + "\n".join(f"- {line}" for line in missed)
        if missed else "")
    return "\n".join(rows) + "\n\n" + summary


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    block = f"{START}\n{table()}\n{END}"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {START} ... {END} block")
    readme.write_text(pattern.sub(lambda _: block, text))
    print(block)


if __name__ == "__main__":
    main()
