from . import samplers, transforms  # noqa: F401
from .annotations import (
    AnnotationLineError,
    parse_class_counts,
    parse_count_line,
    parse_label_line,
    parse_label_list,
    read_train_labels,
)
from .charades_lt_dataset import CharadesLTDataset
from .class_groups import (
    ClassGroups,
    counts_from_labels,
    split_groups,
    write_count_file,
    write_label_list,
)
from .feature_batch import FeatureBatch, FeatureBatchSamples
from .feature_collate import feature_collate
from .feature_store import NpyFeatureStore, build_feature_store
from .multilabel_feature_dataset import MultiLabelFeatureDataset
from .videolt_dataset import VideoLTDataset

__all__ = [
    'parse_label_list',
    'parse_label_line',
    'parse_class_counts',
    'parse_count_line',
    'AnnotationLineError',
    'read_train_labels',
    'ClassGroups',
    'counts_from_labels',
    'split_groups',
    'write_label_list',
    'write_count_file',
    'FeatureBatch',
    'FeatureBatchSamples',
    'feature_collate',
    'NpyFeatureStore',
    'build_feature_store',
    'MultiLabelFeatureDataset',
    'VideoLTDataset',
    'CharadesLTDataset',
]
