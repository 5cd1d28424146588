"""Dataset loaders and generators. They know nothing of models: they return numpy arrays (or
stream batches) and never import Keras or a backend unless a Keras dataset is asked for.

Every loader takes a folder: the `directory` argument, else the dataset's environment variable
(`$KERASAE_MNIST_DIR`, `$KERASAE_CELEBA_DIR`, ...), else `$KERASAE_DATA_DIR/<name>`; it checks
the files' published sha256 (`verify=False` to skip) and says which file is missing and where it
belongs. Your own images: `image_folder` (tf.data batches) and `load_images` (numpy) shape,
crop and scale them as a preset expects; `from_tfds` does the same for TensorFlow Datasets.
`global_contrast_normalize` and `ContrastMinMax` are the one-class preprocessing of Ruff et al.
(Deep SVDD, 2018).
`LICENCES` holds each dataset's licence or terms, for model cards to cite.
"""

from kerasae.data._files import ROOT_ENV_VAR, DataSource, data_dir
from kerasae.data.contrast import ContrastMinMax, global_contrast_normalize
from kerasae.data.dsprites import LICENCE as _DSPRITES_LICENCE
from kerasae.data.dsprites import DSprites
from kerasae.data.ecg import ECG200 as _ECG200
from kerasae.data.ecg import ECG5000 as _ECG5000
from kerasae.data.ecg import (
    AnomalySplit,
    as_sequences,
    ecg5000_anomaly_split,
    load_ecg200,
    load_ecg5000,
    load_ecg5000_sample,
)
from kerasae.data.faces import CBCL as _CBCL
from kerasae.data.faces import CELEBA64 as _CELEBA64
from kerasae.data.faces import OLIVETTI as _OLIVETTI
from kerasae.data.faces import (
    load_cbcl_faces,
    load_celeba64,
    load_olivetti,
    load_olivetti_sample,
)
from kerasae.data.images import (
    ImagePreprocessing,
    image_files,
    image_folder,
    load_images,
    preprocess_array,
)
from kerasae.data.mnist import MNIST as _MNIST
from kerasae.data.mnist import binarize, load_mnist, load_mnist_sample, load_mnist_tfds, read_idx
from kerasae.data.nab import NAB as _NAB
from kerasae.data.nab import NabSeries, load_nab, point_labels, sliding_windows, window_labels
from kerasae.data.natural_images import NATURAL_IMAGES as _NATURAL_IMAGES
from kerasae.data.natural_images import (
    Whitening,
    load_natural_images,
    sample_patches,
    ufldl_normalize,
    whiten,
    whiten_images,
)
from kerasae.data.shipped import SHIPPED_SAMPLES, shipped_sample
from kerasae.data.tfds import from_tfds

SOURCES: dict[str, DataSource] = {
    s.name: s
    for s in (_MNIST, _CELEBA64, _OLIVETTI, _CBCL, _ECG5000, _ECG200, _NAB, _NATURAL_IMAGES)
}
LICENCES: dict[str, str] = {name: s.licence for name, s in SOURCES.items()}
LICENCES["mnist_sample"] = _MNIST.licence + " (2,500-digit sample shipped in kerasae/assets.)"
LICENCES["dsprites"] = _DSPRITES_LICENCE

__all__ = [
    "LICENCES",
    "ROOT_ENV_VAR",
    "SOURCES",
    "AnomalySplit",
    "ContrastMinMax",
    "DSprites",
    "DataSource",
    "ImagePreprocessing",
    "NabSeries",
    "Whitening",
    "as_sequences",
    "binarize",
    "data_dir",
    "ecg5000_anomaly_split",
    "from_tfds",
    "global_contrast_normalize",
    "image_files",
    "image_folder",
    "load_cbcl_faces",
    "load_celeba64",
    "load_ecg200",
    "load_ecg5000",
    "load_ecg5000_sample",
    "load_images",
    "load_mnist",
    "load_mnist_sample",
    "load_mnist_tfds",
    "load_nab",
    "load_natural_images",
    "load_olivetti",
    "load_olivetti_sample",
    "point_labels",
    "preprocess_array",
    "read_idx",
    "sample_patches",
    "SHIPPED_SAMPLES",
    "shipped_sample",
    "sliding_windows",
    "ufldl_normalize",
    "whiten",
    "whiten_images",
    "window_labels",
]
