"""Long-tail mAP: overall / head / medium / tail mean average precision."""

from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric

from meid_mmaction.datasets.annotations import TRAIN_ANN_FORMATS
from meid_mmaction.datasets.class_groups import (
    GROUP_NAMES,
    check_thresholds,
    resolve_evaluation_groups,
)
from meid_mmaction.utils.compat import (
    get_gt_label,
    get_pred_score,
    to_multi_hot,
)

from ..functional.average_precision import average_precision
from ..functional.long_tail import group_summary, summary_table
from ..reports import (
    log_long_tail_summary,
    per_class_ap_path,
    warn_empty_group,
    write_grouped_per_class_csv,
)

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
    # grouping (resolved by class_groups.resolve_evaluation_groups)
    def _get_grouping(self, width: int) -> Dict[str, Any]:
        if self._grouping is None or self._grouping['num_classes'] != width:
            self._grouping = resolve_evaluation_groups(
                width,
                self.dataset_meta,
                count_file=self.count_file,
                train_ann_file=self.train_ann_file,
                train_ann_format=self.train_ann_format,
                num_classes=self.num_classes,
                head_thr=self.head_thr,
                tail_thr=self.tail_thr,
            )
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

    @staticmethod
    def calculate(
        scores: torch.Tensor,
        labels: torch.Tensor,
        groups: Mapping[str, Sequence[int]],
        topk: Sequence[int] = (1, 5),
        details: bool = False,
    ):
        """The metrics of scores and labels (no data samples, no files).

        Args:
            scores (torch.Tensor): ``[N, C]`` scores.
            labels (torch.Tensor): ``[N, C]`` multi-hot 0 / 1 ground truth.
            groups (Mapping): ``{'head': [...], 'medium': [...], 'tail':
                [...]}`` class indices.
            topk (Sequence[int]): ``k`` values of the top-k hit rates.
            details (bool): Also return the per-class AP and the table
                rows. Defaults to False.

        Returns:
            dict | tuple: ``mAP``, ``mAP_head``, ``mAP_medium``,
            ``mAP_tail``, ``num_classes_without_positives``, ``top{k}``
            (unprefixed); with ``details``, ``(metrics, ap [C], rows)``
            (``rows``: :func:`group_summary`).

        Example:
            >>> import torch
            >>> from meid_mmaction.evaluation.metrics import LongTailMAP
            >>> scores = torch.tensor([[0.9, 0.2, 0.1],
            ...                        [0.8, 0.7, 0.3],
            ...                        [0.1, 0.6, 0.8],
            ...                        [0.3, 0.1, 0.4]])
            >>> labels = torch.tensor([[1, 0, 0],
            ...                        [1, 1, 0],
            ...                        [0, 0, 1],
            ...                        [0, 1, 0]])
            >>> groups = {'head': [0], 'medium': [1], 'tail': [2]}
            >>> m = LongTailMAP.calculate(scores, labels, groups, topk=(1,))
            >>> round(m['mAP'], 4), m['mAP_head'], m['mAP_medium']
            (0.9167, 1.0, 0.75)
            >>> m['mAP_tail'], m['num_classes_without_positives'], m['top1']
            (1.0, 0, 0.75)
        """
        ap = average_precision(scores, labels)  # [C] float64
        no_pos = torch.isnan(ap)

        rows = group_summary(ap, groups)
        metrics: Dict[str, float] = OrderedDict()
        for name, _, _, _, value in rows:
            metrics['mAP' if name == 'all' else f'mAP_{name}'] = value
        metrics['num_classes_without_positives'] = int(no_pos.sum())

        positive = labels.bool()
        has_label = positive.any(dim=1)
        n_eval = int(has_label.sum())
        for k in topk:
            hit = topk_hits(scores, positive, k) & has_label
            metrics[f'top{k}'] = (
                float(hit.sum()) / n_eval if n_eval else float('nan')
            )
        if details:
            return metrics, ap, rows
        return metrics

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute the metrics from the gathered results of all ranks
        (:meth:`calculate`), log the grouped table and write the per-class
        CSV (:mod:`meid_mmaction.evaluation.reports`).

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
        metrics, ap, rows = self.calculate(
            scores, labels, grouping['groups'], self.topk, details=True
        )
        n_eval = int(labels.bool().any(dim=1).sum())

        ap_cpu = ap.cpu()
        for name, size, evaluated, _, _ in rows[1:]:
            if evaluated == 0:
                warn_empty_group(
                    name, size, grouping.get('thresholds'), self._warned_empty
                )
        log_long_tail_summary(
            summary_table(rows),
            metrics,
            self.topk,
            grouping['source'],
            len(results),
            n_eval,
            self._context['split'],
        )
        self.last_per_class_file = None
        self.last_thresholds = grouping['thresholds']
        if self.save_per_class_ap:
            n_pos = labels.sum(dim=0).cpu()
            path = per_class_ap_path(
                self.per_class_ap_file,
                self._context['split'],
                self._context['tag'],
                self.out_dir or self._context['out_dir'],
            )
            if path is not None:
                write_grouped_per_class_csv(
                    path, grouping, ap_cpu.tolist(), n_pos.tolist()
                )
                self.last_per_class_file = path
        return metrics
