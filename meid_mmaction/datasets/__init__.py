from . import samplers, transforms  # noqa: F401
from .annotations import (
                          counts_from_labels,
                          parse_class_counts,
                          parse_label_list,
                          split_groups,
)
from .charades_lt_dataset import CharadesLTDataset
from .feature_store import NpyFeatureStore, build_feature_store
from .multilabel_feature_dataset import MultiLabelFeatureDataset
from .videolt_dataset import VideoLTDataset

__all__ = [
    'parse_label_list', 'parse_label_line', 'parse_class_counts',
    'parse_count_line', 'AnnotationLineError', 'read_train_labels',
    'counts_from_labels',
    'split_groups', 'NpyFeatureStore', 'build_feature_store',
    'MultiLabelFeatureDataset', 'VideoLTDataset', 'CharadesLTDataset'
]
