"""Choose MEID's expert combination on the validation split (ours)."""

import logging
from typing import Dict, List, Optional, Sequence

import torch
from mmaction.registry import HOOKS
from mmengine.dist import broadcast_object_list, collect_results, get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from meid_mmaction.datasets.class_groups import ClassGroups
from meid_mmaction.utils.compat import get_gt_label, to_multi_hot

from ...evaluation.functional import (
    COMBINATION_FORMS,
    average_precision,
    choose_combination,
    format_choice_table,
)
from ...evaluation.functional.expert_combination import (
    CombinationChoice,
    candidate_name,
)
from ..interfaces import ExpertCombiner, modules_implementing
from .rng_state_hook import capture_rng_state, restore_rng_state


def combining_heads(model) -> list:
    """The modules of ``model`` whose combination is chosen on validation
    (:class:`ExpertCombiner` with a ``combination_mode``)."""
    return [
        m
        for m in modules_implementing(model, ExpertCombiner)
        if getattr(m, 'combination_mode', None) is not None
    ]


def choose_for_head(
    head,
    y: torch.Tensor,
    y_f: torch.Tensor,
    labels: torch.Tensor,
    groups: Optional[Dict[str, Sequence[int]]] = None,
    device: Optional[str] = None,
    per_group: Optional[bool] = None,
) -> CombinationChoice:
    """Score every candidate of ``head`` and choose (not stored yet).

    Args:
        head: An :class:`ExpertCombiner` (``MEIDHead``) with
            ``combination_candidates`` and ``combination_mode``.
        y (torch.Tensor): ``Y`` per validation video and view ``[N, V, C]``.
        y_f (torch.Tensor): ``Y_F`` ``[N, V, C]``.
        labels (torch.Tensor): ``[N, C]`` multi-hot ground truth.
        groups (dict, optional): Head / medium / tail class indices
            (required for ``'auto_group'``).
        device (str, optional): Where to compute; defaults to ``y``'s.
        per_group (bool, optional): Choose per group; defaults to the
            head's mode (``'auto_group'``).

    Returns:
        CombinationChoice: see :func:`choose_combination`.
    """
    if (
        y.shape != y_f.shape
        or y.dim() != 3
        or labels.shape
        != (
            y.shape[0],
            y.shape[2],
        )
    ):
        raise ValueError(
            'choose_for_head expects Y, Y_F [N, V, C] and labels [N, C], got '
            f'{tuple(y.shape)}, {tuple(y_f.shape)}, {tuple(labels.shape)}'
        )
    device = device or y.device
    y, y_f, labels = y.to(device), y_f.to(device), labels.to(device)
    num_classes = y.shape[-1]
    aps = []
    for form, value in head.combination_candidates:
        code = torch.full(
            (num_classes,),
            COMBINATION_FORMS.index(form),
            dtype=torch.long,
            device=device,
        )
        weight = torch.full(
            (num_classes,), value, dtype=torch.float32, device=device
        )
        scores = head.combination_scores(y, y_f, code, weight)
        aps.append(average_precision(scores, labels).cpu())
    return choose_combination(
        torch.stack(aps),
        head.combination_candidates,
        groups,
        per_group=(
            head.combination_mode == 'auto_group'
            if per_group is None
            else per_group
        ),
    )


def gather_and_choose(
    heads: list,
    records: List[dict],
    size: int,
    groups: Optional[Dict[str, Sequence[int]]] = None,
    device: Optional[str] = None,
) -> List[dict]:
    """Gather every rank's validation records, choose on rank 0, broadcast
    the choice and store it in every rank's heads.

    Args:
        heads (list): The :class:`ExpertCombiner` heads (same on all ranks).
        records (list[dict]): This rank's samples, in the order of its
            ``DefaultSampler`` share (``collect_results`` restores the
            dataset order): ``experts`` (per head ``(Y, Y_F)``, ``[V, C]``
            each) and ``label`` (``[C]``).
        size (int): Samples in the dataset (drops the sampler's padding).
        groups (dict, optional): Head / medium / tail class indices.
        device (str, optional): Where rank 0 computes the APs.

    Returns:
        list[dict]: Per head ``form`` / ``value`` (``[C]``), ``table``
        (text), ``chosen`` (group -> candidate name), ``chosen_map`` (the
        validation mAP of the choice), ``candidates`` /
        ``candidate_map`` (every candidate's validation mAP, see
        :class:`CombinationChoice`) and ``edge`` (the chosen largest ``a``
        of the grid, else None); the same on every rank.
    """
    collected = collect_results(records, size, device='cpu')
    payload = [None]
    if get_rank() == 0:
        labels = torch.stack([r['label'] for r in collected]).to(torch.uint8)
        out = []
        for i, head in enumerate(heads):
            y = torch.stack([r['experts'][i][0] for r in collected])
            y_f = torch.stack([r['experts'][i][1] for r in collected])
            choice = choose_for_head(head, y, y_f, labels, groups, device)
            largest = max(v for f, v in choice.candidates if f == 'logit')
            edge = any(
                choice.candidates[k] == ('logit', largest) and largest > 0
                for k in choice.chosen.values()
            )
            out.append(
                dict(
                    form=choice.form,
                    value=choice.value,
                    table=format_choice_table(choice),
                    chosen={
                        g: candidate_name(choice.candidates[k])
                        for g, k in choice.chosen.items()
                    },
                    chosen_map=choice.chosen_map,
                    candidates=choice.candidates,
                    candidate_map=choice.candidate_map,
                    edge=largest if edge else None,
                )
            )
        payload = [out]
    broadcast_object_list(payload)
    for head, result in zip(heads, payload[0]):
        buffer = head.combination_form
        head.set_combination(
            result['form'].to(buffer.device),
            result['value'].to(head.combination_value.device),
        )
    return payload[0]


@HOOKS.register_module()
class ExpertCombinationHook(Hook):
    """Choose how MEID combines its experts, on the validation split.

    For a head with ``inference='auto'`` / ``'auto_group'`` in stage 2,
    after the last training epoch (and, with ``at_every_val``, after every
    stage-2 epoch that the loop validates) the hook

    1. runs the model over the validation dataloader once (``val_step``,
       no ``ValLoop`` hooks, no metric), recording each video's ``Y`` and
       ``Y_F`` (``[V, C]``) and its labels;
    2. gathers all ranks' records (``collect_results``: dataset order, the
       sampler's padding dropped) and, on rank 0, computes the validation
       per-class AP of every candidate (``sigmoid(Y + a Y_F)`` over
       ``auto_logit_grid``, ``a = 0`` being expert 1 alone, and ``w
       sigmoid(Y) + (1 - w) sigmoid(Y_F)`` over ``auto_mix_grid``), scored
       exactly as the head's predictions are;
    3. picks the candidate of best overall mAP (``'auto'``) or of best
       group mAP per head / medium / tail group of the training counts
       (``'auto_group'``); ties go to the earlier candidate (expert 1
       alone first);
    4. broadcasts the choice and stores it in the head's buffers on every
       rank, and logs a table of every candidate's validation mAP.

    The pass leaves the random states as it found them (as
    :class:`RNGStateHook` does for validation), so a run resumed from a
    checkpoint of such an epoch continues exactly.

    It runs in ``after_train_epoch`` before ``CheckpointHook`` (priority
    ``NORMAL``), so the epoch's checkpoint holds the choice, and the
    validation that follows scores with it (its mAP is the chosen row of
    the table). ``tools/test.py`` loads the buffers with the weights; its
    log states the combination used (``before_test``). Idle without such
    a head; in ``default_runtime.py``.

    Args:
        at_every_val (bool): Also choose before every stage-2 validation,
            not only after the last epoch (costs one extra pass over the
            validation split each time; best checkpoints are then compared
            under their own choice). Defaults to True.
        head_thr (int, optional): Head threshold overriding the training
            dataset's published grouping (with ``tail_thr``).
        tail_thr (int, optional): Tail threshold.
        device (str, optional): Where rank 0 computes the APs; defaults to
            ``'cuda'`` when available, else ``'cpu'``.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        at_every_val: bool = True,
        head_thr: Optional[int] = None,
        tail_thr: Optional[int] = None,
        device: Optional[str] = None,
    ) -> None:
        if (head_thr is None) != (tail_thr is None):
            raise ValueError(
                'ExpertCombinationHook: head_thr and tail_thr must be given '
                f'together, got head_thr={head_thr}, tail_thr={tail_thr}'
            )
        self.at_every_val = bool(at_every_val)
        self.thresholds = None if head_thr is None else (head_thr, tail_thr)
        self.device = device
        self._groups: Optional[Dict[str, List[int]]] = None
        #: :func:`gather_and_choose`'s results of the last choice.
        self.last_results: Optional[List[dict]] = None

    # ------------------------------------------------------------------
    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _resolve_groups(self, runner, heads) -> Optional[Dict]:
        """The training dataset's head / medium / tail groups (None when it
        publishes none and no head needs them)."""
        need = any(h.combination_mode == 'auto_group' for h in heads)
        dataset = runner.train_dataloader.dataset
        meta = getattr(dataset, 'metainfo', None) or {}
        try:
            grouping = ClassGroups.from_metainfo(
                meta,
                thresholds=self.thresholds,
                where=f'ExpertCombinationHook ({type(dataset).__name__})',
            )
        except ValueError:
            if need:
                raise
            return None
        num_classes = heads[0].combination_form.shape[0]
        return grouping.check(num_classes, 'ExpertCombinationHook')

    def before_train(self, runner) -> None:
        """Check early that what the choice needs is there."""
        heads = combining_heads(runner.model)
        if not heads:
            return
        self._groups = self._resolve_groups(runner, heads)
        if runner.val_loop is None:
            print_log(
                'ExpertCombinationHook: no validation split (val_cfg / '
                'val_dataloader), so the expert combination cannot be '
                'chosen; MEIDHead scores with its auto_fallback',
                logger='current',
                level=logging.WARNING,
            )

    def _validates_after(self, runner, epochs_done: int) -> bool:
        loop = runner.train_loop
        rule = getattr(loop, 'validates_after', None)
        if callable(rule):
            return bool(rule(epochs_done))
        return runner.val_loop is not None and (
            epochs_done >= loop.val_begin
            and (
                epochs_done % loop.val_interval == 0
                or epochs_done == loop.max_epochs
            )
        )

    def after_train_epoch(self, runner) -> None:
        """Choose after the last epoch / before each stage-2 validation."""
        heads = [
            h
            for h in combining_heads(runner.model)
            if getattr(h, 'stage', 2) == 2
        ]
        if not heads or runner.val_loop is None:
            return
        epochs_done = runner.epoch + 1
        last = epochs_done >= runner.train_loop.max_epochs
        if not (
            last
            or (
                self.at_every_val
                and self._validates_after(runner, epochs_done)
            )
        ):
            return
        if self._groups is None:
            self._groups = self._resolve_groups(runner, heads)
        self.choose(runner, heads, tag=f'epoch {epochs_done}')

    def choose(self, runner, heads: Optional[list] = None, tag: str = ''):
        """Run the validation pass, choose and store (see the class doc).

        Returns:
            list[dict]: :func:`gather_and_choose`'s results.
        """
        heads = heads if heads is not None else combining_heads(runner.model)
        loader = runner.val_loop.dataloader
        model = runner.model
        model.eval()
        records = []
        for head in heads:
            head.record_experts(True)
        # invisible to the training stream, as validation is (RNGStateHook):
        # iterating the loader draws from torch's generator, and
        # RNGStateHook has captured the epoch's states before this pass, so
        # a run resumed from this epoch's checkpoint would draw differently
        rng = capture_rng_state()
        try:
            with torch.no_grad():
                for data_batch in loader:
                    outputs = model.val_step(data_batch)
                    experts = [head.pop_expert_records() for head in heads]
                    records.extend(self._pack(outputs, experts, heads))
        finally:
            for head in heads:
                head.record_experts(False)
            restore_rng_state(rng)
        device = self.device or (
            'cuda' if torch.cuda.is_available() else 'cpu'
        )
        results = gather_and_choose(
            heads, records, len(loader.dataset), self._groups, device
        )
        for i, result in enumerate(results):
            name = f' (head {i})' if len(results) > 1 else ''
            chosen = '; '.join(
                f'{g}: {c}' for g, c in result['chosen'].items()
            )
            runner.logger.info(
                f'ExpertCombinationHook{name}, {tag}: validation mAP of '
                f'each expert combination ({len(loader.dataset)} videos; '
                f'chosen: {chosen}):\n{result["table"]}'
            )
            if result['edge'] is not None:
                runner.logger.warning(
                    f'ExpertCombinationHook: a = {result["edge"]:g}, the '
                    'largest of auto_logit_grid, was chosen; a wider grid '
                    'may score higher on validation'
                )
        self.last_results = results
        return results

    @staticmethod
    def _pack(outputs, experts, heads) -> List[dict]:
        """Per-sample records from a batch's outputs and recorded logits."""
        num = len(outputs)
        per_head = []
        for y, y_f in experts:
            if y is None or y.shape[0] % num:
                raise ValueError(
                    'ExpertCombinationHook: the head recorded '
                    f'{None if y is None else y.shape[0]} rows for a batch '
                    f'of {num} videos; expected a multiple (views per video)'
                )
            views = y.shape[0] // num
            per_head.append((y.view(num, views, -1), y_f.view(num, views, -1)))
        num_classes = heads[0].combination_form.shape[0]
        out = []
        for i, sample in enumerate(outputs):
            label = to_multi_hot(get_gt_label(sample), num_classes)
            out.append(
                dict(
                    experts=[
                        (y[i].clone(), y_f[i].clone()) for y, y_f in per_head
                    ],
                    label=label.cpu().to(torch.uint8),
                )
            )
        return out

    def before_test(self, runner) -> None:
        """Say which combination the test scores with."""
        for head in combining_heads(runner.model):
            runner.logger.info(
                f'ExpertCombinationHook: MEIDHead(inference='
                f'{head.combination_mode!r}) scores with the combination '
                f'{head.describe_combination()}'
            )
