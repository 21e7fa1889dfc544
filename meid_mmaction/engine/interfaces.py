"""The hand-offs between the training loop / hooks and datasets / modules.

The engine talks to datasets and model parts only through these methods;
a component takes part by implementing the method (structural typing:
:class:`typing.Protocol`, checked with ``isinstance``).

* :class:`StagedModule`: ``set_train_stage(stage)``, called by
  ``TwoStageTrainLoop`` at every epoch start (``MEIDHead``);
* :class:`ClassGroupsUser`: ``set_class_groups(groups)`` and
  :class:`ClassCountsUser`: ``set_class_counts(counts)``, called before
  training by ``LongTailLossHook`` and ``TwoStageTrainLoop`` through
  :func:`hand_class_statistics` (distillation necks, long-tail losses);
* :class:`EpochScheduled`: ``set_train_epoch(epoch)``, called by
  ``LongTailLossHook`` at every epoch start (the DRW switch);
* :class:`FrameSeeded`: ``dataset.set_frame_seed(seed, epoch)``, called by
  ``FrameSamplingSeedHook`` at every epoch start;
* :class:`ExpertCombiner`: ``record_experts`` / ``pop_expert_records`` /
  ``combination_scores`` / ``set_combination``, called by
  ``ExpertCombinationHook`` after stage-2 epochs (``MEIDHead`` with
  ``inference='auto'`` / ``'auto_group'``).

(``FrameSeeded`` is a dataset method; it is deliberately not called
``set_epoch``, which samplers use with a single argument.)
:func:`hand_class_statistics` is the one place where a training dataset's
class counts / groups (:class:`~meid_mmaction.datasets.ClassGroups` in its
``metainfo``) reach the modules.
"""

from typing import Dict, List, Optional, Protocol, Sequence, runtime_checkable

from mmengine.model import is_model_wrapper

from meid_mmaction.datasets.class_groups import ClassGroups


@runtime_checkable
class StagedModule(Protocol):
    """A module trained in stages (``MEIDHead``)."""

    def set_train_stage(self, stage: int) -> None:
        """Switch to ``stage`` (1 or 2): store it, set what is trainable."""


@runtime_checkable
class ClassGroupsUser(Protocol):
    """A module that needs the head / medium / tail groups."""

    def set_class_groups(self, class_groups: Dict[str, Sequence[int]]) -> None:
        """Receive ``{'head': [...], 'medium': [...], 'tail': [...]}``."""


@runtime_checkable
class ClassCountsUser(Protocol):
    """A module that needs the training videos per class."""

    def set_class_counts(self, class_counts: Sequence[int]) -> None:
        """Receive ``[C]`` training counts."""


@runtime_checkable
class EpochScheduled(Protocol):
    """A module whose behaviour depends on the training epoch."""

    def set_train_epoch(self, epoch: int) -> None:
        """Receive the (0-based) epoch about to start."""


@runtime_checkable
class FrameSeeded(Protocol):
    """A dataset whose random frame draws are seeded per epoch."""

    def set_frame_seed(self, seed: int, epoch: int) -> None:
        """Seed the frame draws of ``epoch`` with the run's ``seed``."""


@runtime_checkable
class ExpertCombiner(Protocol):
    """A two-expert head whose score combination is chosen on validation
    (``MEIDHead``; it takes part when ``combination_mode`` is not None)."""

    def record_experts(self, enabled: bool) -> None:
        """Start / stop recording the experts' logits in ``forward``."""

    def pop_expert_records(self):
        """``(Y, Y_F)`` ``[B', C]`` each recorded since the last call."""

    def combination_scores(self, y, y_f, form, value):
        """Scores ``[N, C]`` of a per-class combination of ``[N, V, C]``."""

    def set_combination(self, form, value) -> None:
        """Store the chosen per-class combination ``[C]`` (form, value)."""


def modules_implementing(model, protocol: type) -> List:
    """Modules of ``model`` (unwrapped from DDP) implementing ``protocol``."""
    if is_model_wrapper(model):
        model = model.module
    return [m for m in model.modules() if isinstance(m, protocol)]


def hand_class_statistics(
    model, dataset, where: str = 'LongTailLossHook'
) -> None:
    """Give every module the training dataset's class counts / groups.

    :class:`ClassCountsUser` modules get ``metainfo['class_counts']`` (a
    module with ``counts_from_config`` set keeps its own);
    :class:`ClassGroupsUser` modules get the groups of
    :meth:`ClassGroups.from_metainfo`.

    Raises:
        ValueError: naming the dataset and the modules when it publishes
            nothing they need.
    """
    counts_users = modules_implementing(model, ClassCountsUser)
    groups_users = modules_implementing(model, ClassGroupsUser)
    if not counts_users and not groups_users:
        return
    metainfo = getattr(dataset, 'metainfo', None) or {}
    name = type(dataset).__name__
    counts = metainfo.get('class_counts')
    needy = [
        type(m).__name__
        for m in counts_users
        if not getattr(m, 'counts_from_config', False)
    ]
    if counts is None and needy:
        raise ValueError(
            f'{where}: the training dataset {name} publishes no '
            f"metainfo['class_counts'], which {sorted(set(needy))} need (or "
            "give 'class_counts' in the loss config)"
        )
    for module in counts_users if counts is not None else ():
        module.set_class_counts(counts)
    if not groups_users:
        return
    if not metainfo.get('class_groups') and counts is None:
        users = sorted({type(m).__name__ for m in groups_users})
        raise ValueError(
            f'{where}: the training dataset {name} publishes no '
            f"metainfo['class_groups'], which {users} need (head/medium/"
            'tail class indices)'
        )
    groups = ClassGroups.from_metainfo(
        metainfo, where=f'{where} ({name})'
    ).groups
    for module in groups_users:
        module.set_class_groups(groups)


def frame_seeded_dataset(loader) -> Optional[FrameSeeded]:
    """The dataset of ``loader`` if it is :class:`FrameSeeded`, else None."""
    dataset = getattr(loader, 'dataset', None)
    return dataset if isinstance(dataset, FrameSeeded) else None
