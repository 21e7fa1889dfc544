"""The VideoLT feature dataset."""

from mmaction.registry import DATASETS

from .multilabel_feature_dataset import MultiLabelFeatureDataset


@DATASETS.register_module()
class VideoLTDataset(MultiLabelFeatureDataset):
    """VideoLT: 1,004 classes; head > 500, tail <= 100 training videos.

    Same arguments as :class:`MultiLabelFeatureDataset`, with VideoLT's
    defaults for ``num_classes``, ``head_thr`` and ``tail_thr``.
    """

    def __init__(
        self,
        ann_file: str,
        num_classes: int = 1004,
        head_thr: int = 500,
        tail_thr: int = 100,
        **kwargs,
    ) -> None:
        super().__init__(
            ann_file=ann_file,
            num_classes=num_classes,
            head_thr=head_thr,
            tail_thr=tail_thr,
            **kwargs,
        )
