"""Collate that keeps a batched read's batch as one batch."""

from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS

from .feature_batch import FeatureBatch


@FUNCTIONS.register_module()
def feature_collate(data_batch):
    """``pseudo_collate``, except for a :class:`FeatureBatch` (what the
    batched reads and the feature bank return), which becomes
    ``dict(inputs=[B, V, N, D] tensor, data_samples=FeatureBatchSamples)``
    without a per-video step.

    Registered in mmengine's ``FUNCTIONS`` (MMAction2 has no registry of
    its own for functions): ``collate_fn=dict(type='feature_collate')``.
    The batch tensor is taken as it is by ``FeatureDataPreprocessor`` (the
    feature models' default); MMAction2's ``ActionDataPreprocessor`` needs
    a list and so ``pseudo_collate``.

    Args:
        data_batch (Sequence): What the DataLoader fetched.
    """
    if isinstance(data_batch, FeatureBatch):
        return dict(
            inputs=data_batch.inputs, data_samples=data_batch.data_samples
        )
    return pseudo_collate(data_batch)
