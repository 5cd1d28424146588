"""Applications built only on a model's public methods."""

from kerasae.apps.anomaly import AnomalyDetector, SeriesAnomalyDetector, SeriesScaler
from kerasae.apps.codec import CompressedBatch, compress, compression_report, decompress, denoise
from kerasae.apps.generation import (
    informative_dims,
    interpolate,
    interpolate_codes,
    sample,
    traverse,
    traverse_codes,
)
from kerasae.apps.pictures import (
    latent_map,
    project_codes,
    reconstruction_grid,
    sample_grid,
    training_curves,
    traversal_grid,
)
from kerasae.apps.retrieval import LatentIndex

__all__ = [
    "AnomalyDetector",
    "CompressedBatch",
    "LatentIndex",
    "SeriesAnomalyDetector",
    "SeriesScaler",
    "compress",
    "compression_report",
    "decompress",
    "denoise",
    "informative_dims",
    "interpolate",
    "interpolate_codes",
    "latent_map",
    "project_codes",
    "reconstruction_grid",
    "sample",
    "sample_grid",
    "training_curves",
    "traversal_grid",
    "traverse",
    "traverse_codes",
]
