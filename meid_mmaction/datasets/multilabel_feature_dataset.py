"""Multi-label datasets of pre-extracted per-frame features."""

import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmaction.registry import DATASETS
from mmengine.dataset import BaseDataset

from .annotations import parse_class_counts, parse_label_list
from .batched_reading import BatchedFeatureReader, check_bank_cfg
from .class_groups import ClassGroups, counts_from_labels
from .label_mask import decode_checked, decode_checked_batch, set_drawn_class

DATA_HELP = (
    'See docs/data.md for how to download VideoLT features or build '
    'the CharadesLT / CharadesEgoLT benchmarks, or run '
    '`python tools/data/generate_synthetic.py` for the synthetic '
    'demo data.'
)
#: why a config's data may point at its base's files
KEYS_HELP = (
    'A data key (data_root, feat_dir, *_split, ...) set in a child config '
    "or --cfg-options reaches the loaders only through meid_mmaction's "
    "tools; with MMAction2's tools/train.py or Runner.from_cfg the loaders "
    "keep the base config's values: see docs/custom_dataset.md."
)


@DATASETS.register_module()
class MultiLabelFeatureDataset(BaseDataset):
    """Videos as per-frame feature arrays with multi-label annotations.

    Annotation list (``ann_file``): ``<video id> <label>[,<label>...]`` per
    line. Features of ``<video id>`` are read from the feature store at
    ``data_prefix['feat']`` (``<video id>.npy`` arrays ``[frames, dim]`` or a
    packed store, see ``docs/data.md``).

    The head / medium / tail grouping is computed once from the *training*
    split's class counts — ``count_file`` (``<class name> <index> <count>``)
    if given, else counted from ``train_ann_file`` (defaults to ``ann_file``
    itself, which is right only for the training set) — and published in
    ``metainfo`` as a :class:`~.class_groups.ClassGroups`
    (:meth:`~.class_groups.ClassGroups.to_metainfo`): ``classes``,
    ``class_counts``, ``group_thresholds`` and ``class_groups``
    (``{'head': [...], 'medium': [...], 'tail': [...]}``); consumers read it
    back with :meth:`~.class_groups.ClassGroups.from_metainfo`.

    Indices ``>= len(dataset)`` are ``(video, class)`` pairs encoded by a
    class-aware sampler with ``label_mask=True``
    (:func:`~meid_mmaction.datasets.samplers.encode_drawn_index`): the
    video is loaded and ``drawn_class`` is added to its results (and, by
    ``PackFeatureInputs``, to the data sample), so that the loss masks the
    video's other positive classes.

    Args:
        ann_file (str): The video list.
        num_classes (int): Number of classes ``C``.
        head_thr (int): Head classes have more than ``head_thr`` training
            videos.
        tail_thr (int): Tail classes have at most ``tail_thr``.
        pipeline (list): Transforms.
        data_prefix (dict | str): ``dict(feat=<feature directory>)``.
        count_file (str, optional): Training class-count file.
        train_ann_file (str, optional): Training list to count classes from
            when ``count_file`` is not given.
        feat_dim (int, optional): Expected feature size ``D``; checked when
            each video is opened.
        test_mode (bool): Whether the dataset is for val / test.
        data_root (str, optional): Prefix joined to relative paths.
        batch_read (bool): Fetch each batch with one vectorised read
            (``__getitems__``; one sorted read per shard of a packed store)
            instead of one pipeline run per video: same frames, values and
            packed samples. Needs the standard pipeline (``OpenFeatures``,
            ``SampleFeatureFrames``, ``LoadFeatureFrames``,
            ``PackFeatureInputs``). Defaults to False.
        feature_bank (dict, optional): Hold the whole split in memory and
            gather batches there (implies batched reads):
            ``dict(device='cpu' | 'cuda[:i]', dtype='float16' | 'float32' |
            'int8', memory_limit=None)``; int8 stores a per-channel scale
            and logs its reconstruction error. Loaded on the first batch
            (refused, naming the bytes needed and available, if it does not
            fit); needs ``num_workers=0``. See ``docs/design.md``.
    """

    METAINFO: dict = dict()
    # Class-aware samplers with label_mask=True may hand over encoded
    # (video, class) indices; prepare_data decodes them.
    accepts_drawn_index = True

    def __init__(
        self,
        ann_file: str,
        num_classes: int,
        head_thr: int,
        tail_thr: int,
        pipeline: Sequence[Union[dict, Callable]] = (),
        data_prefix: Union[dict, str] = dict(feat=''),  # noqa: B006
        count_file: Optional[str] = None,
        train_ann_file: Optional[str] = None,
        feat_dim: Optional[int] = None,
        test_mode: bool = False,
        data_root: Optional[str] = None,
        batch_read: bool = False,
        feature_bank: Optional[dict] = None,
        **kwargs,
    ) -> None:
        if not isinstance(num_classes, int) or num_classes <= 0:
            raise ValueError(
                f'num_classes must be a positive int, got {num_classes!r}'
            )
        if isinstance(data_prefix, str):
            data_prefix = dict(feat=data_prefix)
        if 'feat' not in data_prefix:
            raise ValueError(
                "data_prefix must have the key 'feat' (the "
                f'feature directory), got {data_prefix!r}'
            )
        self.num_classes = num_classes
        self.head_thr = head_thr
        self.tail_thr = tail_thr
        self.count_file = count_file
        self.train_ann_file = train_ann_file
        self.feat_dim = feat_dim
        self._sampling_seed: Optional[Tuple[int, int]] = None
        self._label_offsets = np.zeros(1, dtype=np.int64)
        self._label_flat = np.zeros(0, dtype=np.int32)
        feature_bank = check_bank_cfg(feature_bank)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root or '',
            data_prefix=data_prefix,
            pipeline=list(pipeline),
            test_mode=test_mode,
            **kwargs,
        )
        self._batched = None
        if batch_read or feature_bank is not None:
            self._batched = BatchedFeatureReader(
                self.pipeline.transforms, feature_bank
            )

    def _join(self, path: Optional[str]) -> Optional[str]:
        if path is None or osp.isabs(path) or not self.data_root:
            return path
        return osp.join(self.data_root, path)

    def load_data_list(self) -> List[dict]:
        """Read the list; build the class grouping and the label index."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'annotation file not found: {self.ann_file}. {DATA_HELP} '
                f'{KEYS_HELP}'
            )
        feat_root = self.data_prefix['feat']
        if not osp.isdir(feat_root):
            raise FileNotFoundError(
                f'feature directory not found: {feat_root} (from '
                f"data_prefix['feat']). {DATA_HELP} {KEYS_HELP}"
            )
        ids, labels = parse_label_list(self.ann_file, self.num_classes)
        self._set_groups(labels)

        lengths = np.fromiter(
            (len(x) for x in labels), dtype=np.int64, count=len(labels)
        )
        self._label_offsets = np.concatenate([[0], np.cumsum(lengths)])
        self._label_flat = np.fromiter(
            (c for label in labels for c in label),
            dtype=np.int32,
            count=int(lengths.sum()),
        )
        return [
            dict(
                video_id=vid,
                label=label,
                feature_root=feat_root,
                feat_dim=self.feat_dim,
                num_classes=self.num_classes,
            )
            for vid, label in zip(ids, labels)
        ]

    def _set_groups(self, labels: List[List[int]]) -> None:
        count_file = self._join(self.count_file)
        if count_file is not None:
            if not osp.isfile(count_file):
                raise FileNotFoundError(
                    f'class-count file not found: {count_file} (config key '
                    f"'count_file'). {DATA_HELP}"
                )
            names, counts = parse_class_counts(count_file, self.num_classes)
        else:
            train_file = self._join(self.train_ann_file)
            if train_file is not None and train_file != self.ann_file:
                _, train_labels = parse_label_list(
                    train_file, self.num_classes
                )
            elif self.test_mode:
                raise ValueError(
                    'a val/test dataset needs the training split to group '
                    "classes: set 'count_file' or 'train_ann_file' (the "
                    f'grouping must not come from {self.ann_file})'
                )
            else:
                train_labels = labels
            counts = counts_from_labels(train_labels, self.num_classes)
            names = self._metainfo.get('classes') or [
                f'class_{i}' for i in range(self.num_classes)
            ]
            if len(names) != self.num_classes:
                raise ValueError(
                    f"metainfo['classes'] has {len(names)} names but "
                    f'num_classes={self.num_classes}'
                )
        self._metainfo.update(
            ClassGroups.from_counts(
                counts, self.head_thr, self.tail_thr, names
            ).to_metainfo()
        )

    def set_frame_seed(self, seed: int, epoch: int) -> None:
        """Seed the random frame sampling of this epoch.

        After this call, sample ``idx`` carries ``sample_seed = (seed,
        epoch, idx)``, from which ``SampleFeatureFrames`` draws its frames:
        the draws no longer depend on the number of DataLoader workers or on
        where a run was resumed. ``FrameSamplingSeedHook`` calls it before
        every training epoch (DataLoader workers must be created after it,
        i.e. ``persistent_workers=False`` or ``num_workers=0``).
        """
        self._sampling_seed = (int(seed), int(epoch))

    def _decode_index(self, idx: int):
        """``(video index, drawn class or None)`` of a sample index
        (:func:`~.label_mask.decode_checked`: the drawn class is checked
        here, on the host, to be in ``[0, C)`` and among the video's
        labels)."""
        return decode_checked(
            idx, len(self), self.num_classes, self.get_cat_ids
        )

    def prepare_data(self, idx: int):
        """Run the pipeline on sample ``idx`` (a plain index, or an encoded
        ``(video, class)`` index whose class becomes ``drawn_class``)."""
        idx, drawn_class = self._decode_index(idx)
        data_info = self.get_data_info(idx)
        set_drawn_class(data_info, drawn_class)
        if self._sampling_seed is not None:
            data_info['sample_seed'] = (*self._sampling_seed, int(idx))
        return self.pipeline(data_info)

    def __getitems__(self, indices: Sequence[int]) -> list:
        """Samples ``indices`` at once (torch's batched fetch).

        With ``batch_read`` or ``feature_bank``: one vectorised read for the
        batch (equal to ``[self[i] for i in indices]``); otherwise exactly
        that.
        """
        if self._batched is None:
            return [self[i] for i in indices]
        if not self._fully_initialized:
            self.full_init()
        videos, drawn = self._decode_indices(indices)
        return self._batched.read(self, videos, drawn)

    def _decode_indices(self, indices: Sequence[int]):
        """:meth:`_decode_index` of a whole batch, vectorised: ``(videos
        [B], drawn classes [B] with -1 for none, or None when no index is
        encoded)``, with the same checks
        (:func:`~.label_mask.decode_checked_batch`)."""
        return decode_checked_batch(
            indices,
            len(self),
            self.num_classes,
            self._label_offsets,
            self._label_flat,
        )

    def load_feature_bank(self):
        """Load the configured feature bank now (else: at the first
        batch); returns the :class:`FeatureBank`."""
        if self._batched is None or self._batched.bank_cfg is None:
            raise ValueError(
                'load_feature_bank: this dataset has no feature_bank config'
            )
        if not self._fully_initialized:
            self.full_init()
        return self._batched.load_bank(self)

    def get_cat_ids(self, idx: int) -> List[int]:
        """All class indices of sample ``idx``."""
        lo, hi = self._label_offsets[idx], self._label_offsets[idx + 1]
        return self._label_flat[lo:hi].tolist()

    def get_label_lists(self) -> List[List[int]]:
        """The label lists of all samples (cheap: no deserialisation)."""
        flat = self._label_flat.tolist()
        off = self._label_offsets.tolist()
        return [flat[off[i] : off[i + 1]] for i in range(len(off) - 1)]
