"""The bundled presets' registry: for each preset name, the variant and build arguments, the
training data, dataset, preprocessing and licence, the recipe's hyperparameters (epochs, batch
size, learning rate, optimizer, seed) and the evaluation protocol behind its card's numbers.

`kerasae.list_pretrained()` says which presets can be loaded; this package says how each was
made. `scripts/train.py NAME` trains `RECIPES[NAME]`, `scripts/evaluate.py NAME` runs
`EVALUATIONS[RECIPES[NAME].evaluation]`. The data functions read `$KERASAE_DATA_DIR`.
`kerasae.presets.cards` declares what each card states beside its numbers (targets, cited
references).
"""

from kerasae.presets.recipes import (
    EVALUATIONS,
    RECIPES,
    Evaluation,
    Recipe,
    TrainingData,
    recipe,
)

__all__ = ["EVALUATIONS", "RECIPES", "Evaluation", "Recipe", "TrainingData", "recipe"]
