"""What a bundled preset's model card states beside its measured numbers: the target each
metric aims at, the published reference figure with its source, and the missed-targets note.

They are declared here, once, rather than inside the measuring code, so that a corrected
citation or target reaches the cards without re-measuring (`scripts/refresh_cards.py`), and
scripts/evaluate.py applies the same tables when it measures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kerasae.presets.recipes import recipe

# preset -> metric -> target ("<= bound" or ">= bound"): the issue-tracked goal for that number
TARGETS: dict[str, dict[str, str]] = {
    "linear_ae_mnist": {"relative_gap_to_pca": "<= 0.01"},
    "conv_ae_mnist": {"one_class_mean_auroc": ">= 0.93"},
    "denoising_ae_mnist": {"denoised_psnr_db": ">= 22"},
    "sparse_ae_mnist": {"activation_relative_error": "<= 0.10"},
    "vae_mnist": {"test_nll_nats": "<= 85.0"},
    "iwae_mnist": {"test_nll_nats": "<= 85.0"},
    "cvae_mnist": {"conditional_sample_accuracy": ">= 0.97"},
    "lstm_ae_ecg5000": {"test_auroc": ">= 0.95"},
    "masked_ae_mnist": {"linear_probe_accuracy": ">= 0.95"},
    "beta_vae_dsprites": {"mig": ">= 0.20", "beta_vae_score": ">= 0.85"},
    "beta_tcvae_dsprites": {"mig": ">= 0.30", "beta_vae_score": ">= 0.85"},
    "sparse_ae_natural_patches": {"activation_relative_error": "<= 0.10",
                                  "gabor_r2_units": ">= 0.70"},
}

_NOT_VERIFIED = "from memory of the paper, not verified against it"

# evaluation protocol -> metric -> a figure from the literature and where it is printed. A
# figure checked against the paper says where (table); one that could not be checked says so.
REFERENCES: dict[str, dict[str, str]] = {
    "likelihood": {
        "test_nll_nats": "86.35 for a VAE and 84.78 for an IWAE, both k=50 and one stochastic "
        "layer of 50 units (Burda et al., ICLR 2016, Table 1; at k=1 both 86.76, at k=5 86.47 "
        "and 85.54), on binarised MNIST",
    },
    "one_class": {
        "one_class_mean_auroc": "0.948 for One-Class Deep SVDD (mean of the per-digit AUROCs "
        "of Ruff et al., ICML 2018, Table 1); about 0.90 for its convolutional autoencoder "
        f"baseline DCAE ({_NOT_VERIFIED}); their inputs are contrast-normalised and min-max "
        "scaled per class, as here",
    },
    "denoising": {
        "denoised_psnr_db": "none published for this protocol (MNIST test digits, sigma 0.5 "
        "clipped)",
    },
    "masked_probe": {
        "linear_probe_accuracy": "no MNIST figure is published; the protocol follows the MAE "
        "paper's linear probing (He et al., CVPR 2022, Sec. 4.2 and Appendix A.2: features of "
        "the unmasked image, a linear classifier on frozen features)",
    },
    "disentanglement": {
        "mig": f"about 0.2-0.4 for beta-TCVAE at beta about 6 (Chen et al., NeurIPS 2018, "
        f"dSprites MIG figures; {_NOT_VERIFIED}); disentanglement_lib's spread over seeds "
        f"reaches from about 0.05 to 0.4 (Locatello et al., ICML 2019; {_NOT_VERIFIED})",
        "beta_vae_score": f"about 0.99 for beta-VAE and 0.85 for PCA (Higgins et al., ICLR "
        f"2017, Table 1, their version of the score; {_NOT_VERIFIED})",
        "factor_vae_score": f"about 0.82 for FactorVAE and 0.73 for beta-VAE at their best "
        f"settings (Kim and Mnih, ICML 2018; {_NOT_VERIFIED})",
        "dci_disentanglement": f"about 0.1-0.4 for the VAE variants across seeds and settings "
        f"(Locatello et al., ICML 2019; {_NOT_VERIFIED})",
    },
}


def annotate(preset: str, metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """`metrics` (a card's, name -> entry) with each entry's target and reference set from the
    tables above; entries the tables do not name keep what they have."""
    targets = TARGETS.get(preset, {})
    references = REFERENCES.get(recipe(preset).evaluation, {})
    out = {}
    for name, entry in metrics.items():
        entry = dict(entry)
        if name in targets:
            entry["target"] = targets[name]
        if name in references:
            entry["reference"] = references[name]
        out[name] = entry
    return out


def missed_targets(metrics: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per metric whose value misses its target."""
    missed = []
    for name, entry in metrics.items():
        target = entry.get("target")
        if not target:
            continue
        op, bound = target.split()
        value = float(entry["value"])
        if not (value <= float(bound) if op == "<=" else value >= float(bound)):
            missed.append(f"{name} = {entry['value']} misses its target {target}")
    return missed


def targets_note(metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """The card's note on its targets."""
    missed = missed_targets(metrics)
    if missed:
        return "Targets missed after the training in this card: " + "; ".join(missed) + "."
    return "Every target listed in the metrics table is met."


__all__ = ["REFERENCES", "TARGETS", "annotate", "missed_targets", "targets_note"]
