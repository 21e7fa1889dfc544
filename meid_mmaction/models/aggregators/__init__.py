# Each module registers its aggregator at definition; one import per module.
from .attention_pooling import AttentionPooling
from .base_aggregator import BaseAggregator, masked_batch_norm
from .mean_pooling import MeanPooling, weighted_mean
from .netvlad import NetVLAD
from .nextvlad import NeXtVLAD

__all__ = [
    'AttentionPooling',
    'BaseAggregator',
    'MeanPooling',
    'NeXtVLAD',
    'NetVLAD',
    'masked_batch_norm',
    'weighted_mean',
]
