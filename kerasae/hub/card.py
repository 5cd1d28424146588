"""Model cards generated from preset metadata, with Hugging Face front matter.

The front matter is written by huggingface_hub's own ModelCardData, so metrics appear in the
`model-index` form the Hub displays.
"""

from __future__ import annotations

import json
from typing import Any


def card_data(meta: dict[str, Any]):
    """huggingface_hub's ModelCardData for the front matter (imported only when needed)."""
    from huggingface_hub import EvalResult, ModelCardData

    dataset = meta.get("dataset") or {}
    dataset_name = dataset.get("name", "custom")
    results = [
        EvalResult(
            task_type=m.get("task", "autoencoding"),
            dataset_type=dataset.get("hub_id", dataset_name),
            dataset_name=dataset_name,
            dataset_split=m.get("split"),
            metric_type=name,
            metric_name=m.get("description", name),
            metric_value=m["value"],
        )
        for name, m in sorted((meta.get("metrics") or {}).items())
        if isinstance(m, dict) and "value" in m
    ]
    return ModelCardData(
        library_name="keras",
        license=meta.get("licence_id", "apache-2.0"),
        tags=sorted({"kerasae", "autoencoder", str(meta.get("variant")), *meta.get("tags", [])}),
        datasets=[dataset.get("hub_id", dataset_name)] if dataset else None,
        model_name=meta.get("name"),
        eval_results=results or None,
    )


def model_card(meta: dict[str, Any]) -> str:
    """README.md text: front matter, what the model is, how to load it, metrics, provenance."""
    name = meta.get("name", "preset")
    dataset = meta.get("dataset") or {}
    shape = meta.get("input_spec", {}).get("shape", [])
    lines = [
        "---",
        card_data(meta).to_yaml(),
        "---",
        "",
        f"# {name}",
        "",
        f"A `{meta.get('variant')}` autoencoder from kerasae, a Keras 3 model zoo that runs on "
        "TensorFlow, JAX and PyTorch.",
        "",
    ]
    if meta.get("description"):
        lines += [meta["description"], ""]
    lines += [
        "## Use",
        "",
        "```python",
        "import kerasae",
        f'model = kerasae.load("{name}")',
        "codes = model.encode(x)",
        "```",
        "",
        f"Input: shape `(N, {', '.join(str(d) for d in shape)})`, float32. "
        f"Preprocessing: {meta.get('preprocessing', 'none stated')}.",
        "",
    ]
    metrics = meta.get("metrics") or {}
    if metrics:
        lines += ["## Metrics (held-out data)", "",
                  "| metric | value | target | split | meaning |", "|---|---|---|---|---|"]
        for key, m in sorted(metrics.items()):
            if isinstance(m, dict):
                lines.append(f"| {key} | {m.get('value')} | {m.get('target', '')} | "
                             f"{m.get('split', '')} | {m.get('description', '')} |")
        lines.append("")
    if meta.get("notes"):
        lines += ["## Notes", "", meta["notes"], ""]
    lines += [
        "## Provenance",
        "",
        f"- Dataset: {dataset.get('name', 'not stated')}"
        + (f", split `{dataset['split']}`" if dataset.get("split") else "")
        + (f"; licence: {dataset['licence']}" if dataset.get("licence") else ""),
        f"- Training: `{(meta.get('training') or {}).get('command', 'not recorded')}`",
        f"- kerasae {meta.get('kerasae_version')}, Keras {meta.get('keras_version')}, "
        f"trained on the {meta.get('backend')} backend",
    ]
    if meta.get("lineage"):
        lines.append(f"- Fine-tuned from: {json.dumps(meta['lineage'])}")
    if meta.get("licence"):
        lines.append(f"- Licence of these weights: {meta['licence']}")
    return "\n".join(lines) + "\n"
