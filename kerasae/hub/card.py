"""Model cards generated from preset metadata, with front matter the Hugging Face Hub accepts.

The front matter is written by huggingface_hub's ModelCardData and holds only keys the Hub
knows, with values it can use: a Hub licence id (or `other` with `license_name` and
`license_link`), Hub dataset ids only where one exists for certain, `base_model` and
`base_model_relation: finetune` for fine-tunes, `library_name: keras` and tags. Metrics stay in
the card's text with their protocol, since the Hub's model-index needs task types that an
autoencoder's measurements do not have.
"""

from __future__ import annotations

from typing import Any

from kerasae.hub._meta import PICTURES

# kerasae dataset names -> Hugging Face Hub dataset ids, only those known to exist.
HUB_DATASETS = {"mnist": "ylecun/mnist", "mnist_sample": "ylecun/mnist"}

# How much each licence restricts reuse of weights, low to high; unknown ids rank as "other".
_PERMISSIVE = ("apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "cc0-1.0", "cc-by-4.0",
               "cc-by-3.0", "unlicense")
_RANK = {**dict.fromkeys(_PERMISSIVE, 0), "cc-by-sa-3.0": 1, "cc-by-sa-4.0": 1,
         "cc-by-nc-4.0": 2, "cc-by-nc-sa-4.0": 3, "other": 4}


def licence_rank(licence_id: str | None) -> int:
    """Higher is more restrictive; an unknown id counts as `other` (terms to read)."""
    return _RANK.get(str(licence_id).lower(), _RANK["other"])


def licence_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """The licence of a preset: the most restrictive of its own and those in its lineage (a
    fine-tune inherits its parent's terms; a permissive licence stated for the fine-tuning
    data does not lift them), else nothing: never a default licence."""
    candidates = [meta, *reversed(meta.get("lineage") or [])]
    stated = [c for c in candidates if isinstance(c, dict) and c.get("licence_id")]
    if not stated:
        return {}
    source = max(stated, key=lambda c: licence_rank(c["licence_id"]))  # first of the highest
    return {key: source.get(key) for key in ("licence_id", "licence", "licence_name",
                                             "licence_link") if source.get(key)}


def card_data(meta: dict[str, Any]):
    """huggingface_hub's ModelCardData for the front matter (imported only when needed)."""
    from huggingface_hub import ModelCardData

    licence = licence_fields(meta)
    licence_id = licence.get("licence_id")
    other = licence_id == "other"
    dataset = HUB_DATASETS.get((meta.get("dataset") or {}).get("name", ""))
    base_model = meta.get("base_model")
    tags = {"kerasae", "autoencoder", *(meta.get("tags") or [])}
    if meta.get("variant"):
        tags.add(str(meta["variant"]))
    return ModelCardData(
        library_name="keras",
        license=licence_id,
        license_name=licence.get("licence_name") if other else None,
        license_link=licence.get("licence_link") if other else None,
        datasets=[dataset] if dataset else None,
        base_model=base_model,
        base_model_relation="finetune" if base_model else None,
        tags=sorted(tags),
    )


def model_card(meta: dict[str, Any]) -> str:
    """README.md text: front matter, what the model is, how to load and fine-tune it, metrics
    with their protocol, provenance and licence."""
    name = meta.get("name", "preset")
    shape = (meta.get("input_spec") or {}).get("shape", [])
    lines = [
        "---",
        card_data(meta).to_yaml(),
        "---",
        "",
        f"# {name}",
        "",
        f"A `{meta.get('variant')}` autoencoder from kerasae,"
        " a Keras 3 model zoo that runs on TensorFlow, JAX and PyTorch.",
        "",
    ]
    if meta.get("description"):
        lines += [meta["description"], ""]
    lines += _use(meta, name, shape) + _finetuning(meta, name) + _metrics(meta)
    lines += _pictures(meta)
    if meta.get("notes"):
        lines += ["## Notes", "", meta["notes"], ""]
    lines += _provenance(meta)
    return "\n".join(lines) + "\n"


def _use(meta: dict[str, Any], name: str, shape: list) -> list[str]:
    preprocessing = meta.get("preprocessing") or (meta.get("image_preprocessing") or {}).get(
        "description") or "none stated"
    return [
        "## Use",
        "",
        "```python",
        "import kerasae  # registers kerasae's models and layers with Keras",
        "",
        f'model = kerasae.load("{name}")  # or "hf://<org>/<repo>" where this card is hosted',
        "codes = model.encode(x)",
        "x_hat = model.reconstruct(x)",
        "```",
        "",
        "`kerasae.load` checks every file's sha256. `keras.saving.load_model(\"hf://<org>/"
        "<repo>\")` also works, but only after `import kerasae`: without it Keras does not know "
        "the kerasae classes in `config.json`.",
        "",
        f"Input: shape `(N, {', '.join(str(d) for d in shape)})`, float32. "
        f"Preprocessing: {preprocessing}.",
        "",
        *_sampler(meta),
    ]


def _pictures(meta: dict[str, Any]) -> list[str]:
    """The pictures drawn from these weights (scripts/card_pictures.py), each under its
    caption; the Hub shows them from the same repository."""
    pictures = meta.get("pictures") or {}
    if not pictures:
        return []
    lines = ["## Pictures", ""]
    for file in PICTURES:  # in this order, however metadata.json sorts its keys
        if file in pictures:
            alt = file.removesuffix(".png").replace("_", " ")
            lines += [pictures[file]["caption"], "", f"![{alt}]({file})", ""]
    return lines


def _sampler(meta: dict[str, Any]) -> list[str]:
    sampler = meta.get("sampler")
    if not isinstance(sampler, dict):
        return []
    return [
        f"Generation: `sampler.npz` holds a {sampler.get('n_components')}-component Gaussian "
        "mixture fitted on the training set's codes (read without pickle, sha256 checked): "
        '`model.sample(16, seed=0, sampler="gmm")`, or `kerasae generate '
        f'{meta.get("name")} --sampler gmm`.',
        "",
    ]


def _finetuning(meta: dict[str, Any], name: str) -> list[str]:
    rate = (meta.get("finetune") or {}).get("learning_rate")
    spec = meta.get("input_spec") or {}
    if rate is None or spec.get("condition"):
        return []
    shape = list(spec.get("shape") or [])
    images = len(shape) == 3 and shape[-1] in (1, 3)
    dims = ", ".join(map(str, shape))
    data = ("my_images/ --out my_model   # any size: the preprocessing above is applied"
            if images else f"my_data.npy --out my_model   # shape (N, {dims})")
    return [
        "## Fine-tuning",
        "",
        "```bash",
        f"kerasae finetune {name} {data}",
        "```",
        "",
        f"Recommended learning rate: {rate:g} (Adam). Rates ten times higher can wreck the "
        "pretrained weights within a few epochs; `kerasae finetune` refuses them without "
        "`--force`.",
        "",
    ]


def _metrics(meta: dict[str, Any]) -> list[str]:
    metrics = {k: m for k, m in (meta.get("metrics") or {}).items() if isinstance(m, dict)}
    if not metrics:
        return []
    lines = ["## Metrics (held-out data)", ""]
    if not any("reference" in m or "floor" in m for m in metrics.values()):
        lines += ["| metric | value | target | split | protocol |", "|---|---|---|---|---|"]
        for key, m in sorted(metrics.items()):
            lines.append(f"| {key} | {m.get('value')} | {m.get('target', '')} | "
                         f"{m.get('split', '')} | {m.get('description', '')} |")
        return lines + [""]
    lines += ["| metric | value | target | reference (source) | floor (measured here) | split "
              "| protocol |", "|---|---|---|---|---|---|---|"]
    for key, m in sorted(metrics.items()):
        floor = m.get("floor")
        floor_text = (f"{floor.get('value')} ({floor.get('description', '')})"
                      if isinstance(floor, dict) else "")
        lines.append(f"| {key} | {m.get('value')} | {m.get('target', '')} | "
                     f"{m.get('reference', '')} | {floor_text} | {m.get('split', '')} | "
                     f"{m.get('description', '')} |")
    return lines + ["", "A reference is a published figure, cited for orientation (its setting "
                    "may differ: see the source); a floor is the same metric on the same data for "
                    "a simple baseline, measured by `scripts/evaluate.py` with this card's "
                    "numbers.", ""]


def _provenance(meta: dict[str, Any]) -> list[str]:
    dataset = meta.get("dataset") or {}
    training = meta.get("training") or {}
    lines = [
        "## Provenance",
        "",
        f"- Dataset: {dataset.get('name', 'not stated')}"
        + (f", split `{dataset['split']}`" if dataset.get("split") else "")
        + (f"; licence: {dataset['licence']}" if dataset.get("licence") else ""),
        f"- Training: `{training.get('command', 'not recorded')}`",
        f"- kerasae {meta.get('kerasae_version')}, Keras {meta.get('keras_version')}, "
        f"trained on the {meta.get('backend')} backend",
    ]
    if meta.get("parameter_count"):
        lines.append(f"- Parameters: {int(meta['parameter_count']):,}")
    if meta.get("date_saved"):
        lines.append(f"- Saved: {meta['date_saved']}")
    for entry in reversed(meta.get("lineage") or []):
        lines.append(f"- Fine-tuned from: {lineage_text(entry)}")
    licence = licence_fields(meta)
    if licence:
        text = licence.get("licence") or licence["licence_id"]
        link = licence.get("licence_link")
        lines.append(f"- Licence of these weights: {text}" + (f" ({link})" if link else ""))
        if licence.get("licence_id") != meta.get("licence_id"):
            lines.append("  (inherited from the model it was fine-tuned from)")
    else:
        lines.append("- Licence of these weights: not stated")
    return lines


def lineage_text(entry: dict[str, Any]) -> str:
    """One lineage entry in words: name, where it came from, weights hash, its data."""
    name = entry.get("base_model") or entry.get("name") or "an unnamed preset"
    words = f"`{name}`"
    if entry.get("handle") and entry.get("handle") != name:
        words += f" (loaded as `{entry['handle']}`)"
    if entry.get("weights_sha256"):
        words += f", weights sha256 `{entry['weights_sha256']}`"
    dataset = entry.get("dataset")
    if isinstance(dataset, dict) and dataset.get("name"):
        words += f", trained on {dataset['name']}"
    elif isinstance(dataset, str):
        words += f", trained on {dataset}"
    if entry.get("licence"):
        words += f"; licence: {entry['licence']}"
    return words
