"""The CharadesLT / CharadesEgoLT feature datasets."""

from mmaction.registry import DATASETS

from .multilabel_feature_dataset import MultiLabelFeatureDataset


@DATASETS.register_module()
class CharadesLTDataset(MultiLabelFeatureDataset):
    """CharadesLT / CharadesEgoLT: 157 classes; head > 100, tail <= 20.

    Same arguments as :class:`MultiLabelFeatureDataset`, with the Charades
    benchmarks' defaults for ``num_classes``, ``head_thr`` and ``tail_thr``.
    """

    def __init__(
        self,
        ann_file: str,
        num_classes: int = 157,
        head_thr: int = 100,
        tail_thr: int = 20,
        **kwargs,
    ) -> None:
        super().__init__(
            ann_file=ann_file,
            num_classes=num_classes,
            head_thr=head_thr,
            tail_thr=tail_thr,
            **kwargs,
        )
