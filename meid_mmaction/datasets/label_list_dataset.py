"""A dataset of label lists only (no features)."""

from typing import List, Optional, Sequence


class LabelListDataset:
    """Label lists as a dataset: what the class-aware samplers read.

    Builds :class:`~meid_mmaction.datasets.samplers.ClassBalancedSampler`
    and its relatives from labels alone (benchmarks, analysis, tests),
    without reading any feature.

    Args:
        labels (Sequence[Sequence[int]]): Class indices of every sample.
        classes (Sequence[str], optional): Class names, published as
            ``metainfo['classes']`` (they fix ``C``; without them ``C`` is
            inferred from the labels).
    """

    def __init__(
        self,
        labels: Sequence[Sequence[int]],
        classes: Optional[Sequence[str]] = None,
    ) -> None:
        self._labels = labels
        self.metainfo = {} if classes is None else dict(classes=tuple(classes))

    def __len__(self) -> int:
        """Number of samples."""
        return len(self._labels)

    def __getitem__(self, idx: int) -> dict:
        """Sample ``idx`` as ``dict(label=[...])``."""
        return dict(label=list(self._labels[idx]))

    def get_cat_ids(self, idx: int) -> List[int]:
        """Class indices of sample ``idx``."""
        return list(self._labels[idx])

    def get_label_lists(self) -> Sequence[Sequence[int]]:
        """The label lists of all samples."""
        return self._labels
