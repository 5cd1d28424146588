"""Rewrite the README's table of bundled presets from their metadata.json (never by hand).

    python scripts/model_table.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- presets:start -->", "<!-- presets:end -->"


def table() -> str:
    rows = ["| preset | variant | data | metrics on held-out data (target) |", "|---|---|---|---|"]
    for meta_path in sorted((ROOT / "weights").glob("*/metadata.json")):
        meta = json.loads(meta_path.read_text())
        parts = []
        for name, m in sorted(meta.get("metrics", {}).items()):
            target = f" ({m['target']})" if m.get("target") else ""
            parts.append(f"{name} = {m['value']:g}{target}")
        dataset = meta.get("dataset", {}).get("name", "")
        rows.append(f"| `{meta['name']}` | `{meta['variant']}` | {dataset} | "
                    f"{'; '.join(parts) or 'not evaluated yet'} |")
    return "\n".join(rows)


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
