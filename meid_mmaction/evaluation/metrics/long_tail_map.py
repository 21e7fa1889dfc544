"""Long-tail mAP: overall / head / medium / tail mean average precision."""

import dataclasses
import logging
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from meid_mmaction.datasets.annotations import (
    TRAIN_ANN_FORMATS,
    parse_class_counts,
    read_train_labels,
)
from meid_mmaction.datasets.class_groups import (
    GROUP_NAMES,
    ClassGroups,
    check_thresholds,
    counts_from_labels,
)
from meid_mmaction.utils.compat import (
    get_gt_label,
    get_pred_score,
    to_multi_hot,
)

from ..functional.average_precision import average_precision
from ..functional.long_tail import group_summary, summary_table
from ..reports import unique_path, write_per_class_csv

GROUPS = GROUP_NAMES


def _sample_name(data_sample: Any, position: int) -> str:
    """A readable identity of a data sample for error messages."""
    for key in ('video_id', 'filename', 'frame_dir'):
        value = None
        if isinstance(data_sample, Mapping):
            value = data_sample.get(key)
        elif key in data_sample:
            value = data_sample.get(key)
        if value is not None:
            return f'{key}={value!r} (batch position {position})'
    return f'batch position {position}'


def topk_hits(
    scores: torch.Tensor, positive: torch.Tensor, k: int
) -> torch.Tensor:
    """Whether each video's ``k`` top-scored classes hold a true label.

    Ties at the ``k``-th score are broken towards the lower class index,
    so the result does not depend on the order ``torch.topk`` returns.

    Args:
        scores (torch.Tensor): ``[N, C]`` scores.
        positive (torch.Tensor): ``[N, C]`` bool ground truth.
        k (int): ``1 <= k <= C``.

    Returns:
        torch.Tensor: ``[N]`` bool.
    """
    kth = torch.topk(scores, k, dim=1).values[:, -1:]  # [N, 1]
    above = scores > kth
    tied = scores == kth
    slots = k - above.sum(dim=1, keepdim=True)  # tied classes that fit
    taken = above | (tied & (torch.cumsum(tied, dim=1) <= slots))
    return (taken & positive).any(dim=1)


@METRICS.register_module()
class LongTailMAP(BaseMetric):
    """Mean average precision overall and per long-tail group.

    Per-class AP is scikit-learn's ``average_precision_score`` (tied scores
    form one threshold), computed for all classes at once in torch, on the
    GPU when one is available. Classes without a positive test video are
    left out of every mean and counted. Nothing is computed per rank: the
    results of all ranks are gathered first (``BaseMetric.evaluate``).

    The head / medium / tail split (by *training* video counts) is taken
    from, in this order:

    1. ``count_file`` or ``train_ann_file`` (counts) split with
       ``head_thr`` / ``tail_thr`` (or ``dataset_meta['group_thresholds']``);
    2. ``dataset_meta['class_counts']`` split with ``head_thr`` /
       ``tail_thr`` when given;
    3. ``dataset_meta['class_groups']`` (published by this package's
       datasets), else ``dataset_meta['class_counts']`` split with
       ``dataset_meta['group_thresholds']``.

    Head classes have ``count > head_thr``, tail classes
    ``count <= tail_thr``, medium the rest.

    Output keys, in this order (``mAP`` first so that
    ``save_best='auto'`` picks it): ``mAP``, ``mAP_head``, ``mAP_medium``,
    ``mAP_tail``, ``num_classes_without_positives``, then ``top{k}``.
    ``top{k}`` is the fraction of videos (among those with at least one
    true label) whose ``k`` highest-scored classes contain at least one true
    label; score ties are broken towards the lower class index.

    Args:
        count_file (str, optional): Training class counts,
            ``<class name> <class index> <count>`` per line.
        train_ann_file (str, optional): Training list to count classes from
            (see :func:`read_train_labels` for the formats).
        train_ann_format (str): Format of ``train_ann_file``: ``'auto'``,
            ``'videolt'``, ``'video'``, ``'rawframe'`` or
            ``'rawframe_offset'``. Defaults to ``'auto'``.
        num_classes (int, optional): Number of classes ``C``; defaults to
            the count file / ``dataset_meta`` / the score width.
        head_thr (int, optional): Head threshold (required when the groups
            are not in ``dataset_meta``).
        tail_thr (int, optional): Tail threshold (likewise).
        save_per_class_ap (bool): Write the per-class AP CSV
            (``class_index, class_name, train_count, group,
            num_test_positives, ap``, see
            :mod:`meid_mmaction.evaluation.reports`) at every evaluation.
            Defaults to True.
        per_class_ap_file (str, optional): Name of that CSV; may contain
            ``{split}`` (the evaluated list, e.g. ``val``) and ``{tag}``
            (e.g. ``epoch_12``), filled in by
            :class:`~meid_mmaction.engine.hooks.EvalContextHook` (in
            ``default_runtime.py``). Defaults to
            ``per_class_ap_{split}_{tag}.csv``. A relative path goes under
            ``out_dir``, else the current run's log directory
            (``<work_dir>/<timestamp>/``); without either, a default name is
            not written and a given one is used relative to the current
            directory. An existing file is never overwritten: ``_1``,
            ``_2``, ... is appended instead.
        out_dir (str, optional): Directory of the per-class CSV.
        topk (Sequence[int]): ``k`` values of the top-k hit rates.
        device (str, optional): Where to compute; defaults to ``'cuda'``
            when available, else ``'cpu'``.
        collect_device (str): Device used to gather results across ranks.
        prefix (str, optional): Prefix of the metric names; defaults to
            ``'lt'``.
    """

    default_prefix: Optional[str] = 'lt'

    def __init__(
        self,
        count_file: Optional[str] = None,
        train_ann_file: Optional[str] = None,
        train_ann_format: str = 'auto',
        num_classes: Optional[int] = None,
        head_thr: Optional[int] = None,
        tail_thr: Optional[int] = None,
        save_per_class_ap: bool = True,
        per_class_ap_file: Optional[str] = None,
        out_dir: Optional[str] = None,
        topk: Sequence[int] = (1, 5),
        device: Optional[str] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if train_ann_format not in TRAIN_ANN_FORMATS:
            raise ValueError(
                f'train_ann_format must be one of '
                f'{TRAIN_ANN_FORMATS}, got {train_ann_format!r}'
            )
        if num_classes is not None and (
            not isinstance(num_classes, int) or num_classes <= 0
        ):
            raise ValueError(
                f'num_classes must be a positive int, got {num_classes!r}'
            )
        if (head_thr is None) != (tail_thr is None):
            raise ValueError(
                'head_thr and tail_thr must be given together, '
                f'got head_thr={head_thr}, tail_thr={tail_thr}'
            )
        if head_thr is not None:
            check_thresholds(head_thr, tail_thr)
        if isinstance(topk, int):
            topk = (topk,)
        topk = tuple(topk)
        if any(not isinstance(k, int) or k < 1 for k in topk):
            raise ValueError(f'topk must be positive ints, got {topk!r}')
        self.count_file = count_file
        self.train_ann_file = train_ann_file
        self.train_ann_format = train_ann_format
        self.num_classes = num_classes
        self.head_thr = head_thr
        self.tail_thr = tail_thr
        self.save_per_class_ap = save_per_class_ap
        self.per_class_ap_file = per_class_ap_file
        self.out_dir = out_dir
        self.topk = topk
        self.device = device
        self._grouping: Optional[Dict[str, Any]] = None
        self._context: Dict[str, Optional[str]] = dict(
            split=None, tag=None, out_dir=None
        )
        self._warned_empty: set = set()
        #: Path of the CSV written by the last evaluation (or None).
        self.last_per_class_file: Optional[str] = None
        #: ``(head_thr, tail_thr)`` of the last evaluation, if known.
        self.last_thresholds: Optional[Tuple[int, int]] = None

    def set_eval_context(
        self,
        split: Optional[str] = None,
        tag: Optional[str] = None,
        out_dir: Optional[str] = None,
    ) -> None:
        """Say what the next evaluation evaluates (names its output).

        Called by :class:`~meid_mmaction.engine.hooks.EvalContextHook`
        before each validation / test epoch.

        Args:
            split (str, optional): The evaluated list, e.g. ``'val'``.
            tag (str, optional): The model evaluated, e.g. ``'epoch_12'``.
            out_dir (str, optional): Where outputs go (the run's log dir).
        """
        self._context = dict(split=split, tag=tag, out_dir=out_dir)

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Meta info of the evaluated dataset (resets the grouping)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        """Set by the evaluator; the grouping is resolved again."""
        self._dataset_meta = dataset_meta
        self._grouping = None

    # ------------------------------------------------------------------
    # grouping
    def _thresholds(self, meta: Mapping) -> Tuple[int, int]:
        if self.head_thr is not None:
            return self.head_thr, self.tail_thr
        if meta.get('group_thresholds') is not None:
            head_thr, tail_thr = meta['group_thresholds']
            return head_thr, tail_thr
        raise ValueError(
            'LongTailMAP needs head_thr and tail_thr: the class groups are '
            "not in dataset_meta (no 'class_groups' / 'group_thresholds'); "
            'pass e.g. head_thr=500, tail_thr=100 (VideoLT)'
        )

    def _resolve_grouping(self, width: int) -> Dict[str, Any]:
        """Class names, training counts and groups for ``width`` classes."""
        meta = self.dataset_meta or {}
        if self.count_file is not None:
            if not osp.isfile(self.count_file):
                raise FileNotFoundError(
                    f'count_file not found: {self.count_file}'
                )
            names, counts = parse_class_counts(
                self.count_file, self.num_classes
            )
            grouping = ClassGroups.from_counts(
                counts, *self._thresholds(meta), names=names
            )
            source = f'count file {self.count_file}'
        elif self.train_ann_file is not None:
            num_classes = (
                self.num_classes or len(meta.get('classes', ())) or width
            )
            labels = read_train_labels(
                self.train_ann_file, self.train_ann_format, num_classes
            )
            grouping = ClassGroups.from_counts(
                counts_from_labels(labels, num_classes),
                *self._thresholds(meta),
            )
            grouping = dataclasses.replace(grouping, names=None)
            source = f'training list {self.train_ann_file}'
        elif meta.get('class_counts') is None and not meta.get('class_groups'):
            raise ValueError(
                'LongTailMAP has no class counts: pass count_file= or '
                'train_ann_file= (with head_thr / tail_thr), or evaluate a '
                "dataset whose metainfo has 'class_groups' or "
                "'class_counts'; dataset_meta keys: {}".format(
                    sorted(meta.keys())
                )
            )
        else:
            thresholds = (
                None
                if self.head_thr is None
                else (self.head_thr, self.tail_thr)
            )
            if (
                thresholds is None
                and meta.get('class_counts') is not None
                and not meta.get('class_groups')
            ):
                thresholds = self._thresholds(meta)
            grouping = ClassGroups.from_metainfo(
                meta, thresholds, 'LongTailMAP'
            )
            source = (
                "dataset_meta['class_counts']"
                if thresholds is not None and grouping.counts is not None
                else "dataset_meta['class_groups']"
            )

        counts = (
            None
            if grouping.counts is None
            else np.asarray(grouping.counts, dtype=np.int64)
        )
        if counts is not None:
            num_classes = len(counts)
        elif self.num_classes is not None:
            num_classes = self.num_classes
        elif meta.get('classes'):
            num_classes = len(meta['classes'])
        else:
            num_classes = width
        if self.num_classes is not None and num_classes != self.num_classes:
            raise ValueError(
                f'{source} gives {num_classes} classes but '
                f'num_classes={self.num_classes}'
            )
        if width != num_classes:
            raise ValueError(
                f'prediction scores have {width} classes but the class '
                f'grouping ({source}) has {num_classes}'
            )
        groups = grouping.check(num_classes, source)
        names = grouping.names
        if names is None or len(names) != num_classes:
            meta_names = meta.get('classes')
            if meta_names is not None and len(meta_names) == num_classes:
                names = [str(n) for n in meta_names]
            else:
                names = [f'class_{i}' for i in range(num_classes)]
        return dict(
            num_classes=num_classes,
            names=list(names),
            counts=counts,
            thresholds=grouping.thresholds,
            groups=groups,
            source=source,
        )

    def _get_grouping(self, width: int) -> Dict[str, Any]:
        if self._grouping is None or self._grouping['num_classes'] != width:
            self._grouping = self._resolve_grouping(width)
        return self._grouping

    # ------------------------------------------------------------------
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store the score ``[C]`` and multi-hot label ``[C]`` per sample.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[ActionDataSample | dict]): Model outputs
                carrying a prediction score ``[C]`` and a ground truth
                (multi-hot ``[C]`` or integer class indices).
        """
        for position, sample in enumerate(data_samples):
            score = torch.as_tensor(get_pred_score(sample)).detach()
            if score.dim() != 1:
                raise ValueError(
                    f'prediction score of {_sample_name(sample, position)} '
                    f'has shape {tuple(score.shape)}; expected [C]'
                )
            width = score.shape[0]
            grouping = self._get_grouping(width)
            if max(self.topk) > width:
                raise ValueError(
                    f'topk={self.topk} asks for more classes '
                    f'than the {width} scored'
                )
            label = torch.as_tensor(get_gt_label(sample)).detach()
            try:
                multi_hot = to_multi_hot(label, grouping['num_classes'])
            except ValueError as err:
                raise ValueError(
                    f'ground truth of {_sample_name(sample, position)}: {err}'
                ) from None
            if bool(((multi_hot != 0) & (multi_hot != 1)).any()):
                raise ValueError(
                    f'ground truth of {_sample_name(sample, position)} is '
                    f'not 0/1 multi-hot: {multi_hot.tolist()}'
                )
            self.results.append(
                dict(
                    score=score.cpu().clone(),
                    label=multi_hot.cpu().to(torch.uint8),
                )
            )

    def _compute_device(self) -> torch.device:
        if self.device is not None:
            return torch.device(self.device)
        if torch.cuda.is_available():
            return torch.device('cuda', torch.cuda.current_device())
        return torch.device('cpu')

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute the metrics from the gathered results of all ranks.

        Args:
            results (list[dict]): ``score`` ``[C]`` and ``label`` ``[C]`` per
                video.

        Returns:
            dict: ``mAP``, ``mAP_head``, ``mAP_medium``, ``mAP_tail``,
            ``num_classes_without_positives``, ``top{k}``.
        """
        if not results:
            raise ValueError('LongTailMAP got no results to evaluate')
        device = self._compute_device()
        scores = torch.stack([r['score'] for r in results]).to(device)
        labels = torch.stack([r['label'] for r in results]).to(device)
        grouping = self._get_grouping(scores.shape[1])
        ap = average_precision(scores, labels)  # [C] float64
        no_pos = torch.isnan(ap)

        rows = group_summary(ap, grouping['groups'])
        metrics: Dict[str, float] = OrderedDict()
        for name, _, _, _, value in rows:
            metrics['mAP' if name == 'all' else f'mAP_{name}'] = value
        metrics['num_classes_without_positives'] = int(no_pos.sum())

        positive = labels.bool()
        has_label = positive.any(dim=1)
        n_eval = int(has_label.sum())
        for k in self.topk:
            hit = topk_hits(scores, positive, k) & has_label
            metrics[f'top{k}'] = (
                float(hit.sum()) / n_eval if n_eval else float('nan')
            )

        ap_cpu = ap.cpu()
        self._log_table(metrics, grouping, rows, len(results), n_eval)
        self.last_per_class_file = None
        self.last_thresholds = grouping['thresholds']
        if self.save_per_class_ap:
            n_pos = labels.sum(dim=0).cpu()
            self._write_per_class(grouping, ap_cpu, n_pos)
        return metrics

    def _log_table(
        self,
        metrics: Mapping,
        grouping: Mapping,
        rows: Sequence[Tuple[str, int, int, int, float]],
        num_videos: int,
        num_with_label: int,
    ) -> None:
        """Log the grouped table as markdown; warn about empty groups."""
        for name, size, evaluated, _, _ in rows[1:]:
            if evaluated == 0:
                self._warn_empty_group(name, size, grouping)
        table = summary_table(rows)
        topk = ', '.join(f'top{k} {metrics[f"top{k}"]:.4f}' for k in self.topk)
        what = ''
        if self._context['split'] is not None:
            what = f' of split {self._context["split"]!r}'
        print_log(
            f'LongTailMAP{what} on {num_videos} videos ({num_with_label} '
            f'with a label), groups from {grouping["source"]}:\n'
            + table
            + f'\n{topk}',
            logger='current',
        )

    def _warn_empty_group(
        self, name: str, size: int, grouping: Mapping
    ) -> None:
        """Warn once per group that its mAP is undefined (reported NaN)."""
        if name in self._warned_empty:
            return
        self._warned_empty.add(name)
        if size == 0:
            why = 'has no class'
        else:
            why = f'has {size} classes, none with a positive video here'
        thr = grouping.get('thresholds')
        thr_text = (
            '' if thr is None else f' (head_thr={thr[0]}, tail_thr={thr[1]})'
        )
        print_log(
            f'LongTailMAP: the {name} group {why}{thr_text}, so mAP_{name} '
            'is undefined (reported as nan). On a subset of a dataset, '
            'rebuild the count file from the subset and adjust head_thr / '
            "tail_thr (docs/data.md, 'Working on a subset').",
            logger='current',
            level=logging.WARNING,
        )

    def _resolve_output_path(self) -> Optional[str]:
        """Where this evaluation's CSV goes (None: not written)."""
        given = self.per_class_ap_file is not None
        name = (
            self.per_class_ap_file
            if given
            else 'per_class_ap_{split}_{tag}.csv'
        )
        split = self._context['split'] or 'eval'
        tag = self._context['tag']
        if tag is None:
            # without the hook: per_class_ap_eval.csv, _1, _2, ...
            name = name.replace('_{tag}', '').replace('{tag}', 'eval')
        try:
            name = name.format(split=split, tag=tag)
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(
                f'per_class_ap_file={self.per_class_ap_file!r}: only the '
                f'fields {{split}} and {{tag}} can be used ({err!r})'
            ) from None
        if osp.isabs(name):
            return unique_path(name)
        out_dir = self.out_dir or self._context['out_dir']
        if out_dir is None:
            # A runner's logger writes to <work_dir>/<timestamp>/<ts>.log.
            log_file = MMLogger.get_current_instance().log_file
            if log_file:
                out_dir = osp.dirname(log_file)
        if out_dir is None:
            return unique_path(name) if given else None
        return unique_path(osp.join(out_dir, name))

    def _write_per_class(
        self, grouping: Mapping, ap: torch.Tensor, n_pos: torch.Tensor
    ) -> None:
        path = self._resolve_output_path()
        if path is None:
            return
        group_of = {}
        for g in GROUPS:
            for c in grouping['groups'][g]:
                group_of[c] = g
        write_per_class_csv(
            path,
            grouping['names'],
            grouping['counts'],
            group_of,
            n_pos.tolist(),
            ap.tolist(),
        )
        self.last_per_class_file = path
        print_log(f'per-class AP written to {path}', logger='current')
