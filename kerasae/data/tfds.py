"""TensorFlow Datasets as a preset's input: the image is taken out of each dict element and
shaped, cropped and scaled by the preset's own recipe (kerasae.data.images). Needs the extra
`kerasae[tfds]` (tensorflow-datasets and importlib_resources)."""

from __future__ import annotations

import os
from typing import Any

from kerasae._checks import check_int
from kerasae.data.images import preprocessing_for, tf_preprocess


def from_tfds(
    name: str,
    split: str = "train",
    preset: Any = None,
    data_dir: str | os.PathLike | None = None,
    batch_size: int = 32,
    image_key: str = "image",
    shuffle: bool = False,
    seed: int | None = None,
    download: bool = True,
):
    """tfds.load(name, split=...) -> a tf.data.Dataset of batches (B, H, W, C) float32 in [0, 1]
    as `preset` (a name, folder, hf:// handle or metadata) expects; Model.fit takes it on
    TensorFlow, JAX and PyTorch. `split` is tfds' own syntax ("train[:90%]", "test", ...);
    `image_key` names the image in each element's dict (labels and other features are dropped).
    """
    batch_size = check_int(batch_size, "batch_size")
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise ImportError(
            "kerasae.data.from_tfds needs TensorFlow Datasets: pip install 'kerasae[tfds]'."
        ) from None
    import tensorflow as tf

    if preset is None:
        raise ValueError("from_tfds needs preset=... (a preset name, folder or hf:// handle) "
                         "to know the size, crop and channels to give the images.")
    spec, _ = preprocessing_for(preset)
    try:
        dataset = tfds.load(name, split=split, shuffle_files=shuffle, download=download,
                            data_dir=None if data_dir is None else str(data_dir))
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(f"TensorFlow Datasets has no dataset {name!r}; see "
                         "tfds.list_builders() for the names it knows.") from None
    features = dataset.element_spec
    if not isinstance(features, dict):
        raise ValueError(f"tfds dataset {name!r} gives {type(features).__name__} elements; "
                         f"expected dicts holding an image under {image_key!r}.")
    if image_key not in features:
        raise ValueError(f"tfds dataset {name!r} has no feature {image_key!r}; its features are "
                         f"{sorted(features)}: pass image_key=one of them.")
    shape = features[image_key].shape
    if shape.rank not in (2, 3) or (shape.rank == 3 and shape[-1] not in (1, 3, 4, None)):
        raise ValueError(f"feature {image_key!r} of {name!r} has shape {shape}; expected an "
                         "image (height, width[, 1, 3 or 4 channels]).")
    if shuffle:
        dataset = dataset.shuffle(4096, seed=seed)
    return (dataset.map(lambda element: tf_preprocess(element[image_key], spec),
                        num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size).prefetch(tf.data.AUTOTUNE))
