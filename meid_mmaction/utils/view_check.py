"""Start-up check: MEIDHead on backbone maps needs ``frames_per_view``
when a val / test pipeline makes several views per video."""

from typing import Iterator, Tuple

from mmengine.config import Config

#: Pipeline steps that turn one clip into several views of the same frames.
MULTI_VIEW_CROPS = {'ThreeCrop': 3, 'TenCrop': 10}


def _pipelines(cfg: Config) -> Iterator[Tuple[str, list]]:
    """``(key, pipeline)`` of every val / test loader, through wrappers."""
    for loader in ('val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset')
        key = f'{loader}.dataset'
        while isinstance(dataset, dict):
            if dataset.get('pipeline') is not None:
                yield f'{key}.pipeline', list(dataset['pipeline'])
            dataset, key = dataset.get('dataset'), f'{key}.dataset'


def _multi_view_step(step: dict) -> str:
    """Why ``step`` makes several views per video, or ``''``."""
    name = str(step.get('type', '')).split('.')[-1]
    if name in MULTI_VIEW_CROPS:
        return f'{name} makes {MULTI_VIEW_CROPS[name]} crops (views)'
    if name == 'SampleFrames' and step.get('twice_sample'):
        return 'SampleFrames(twice_sample=True) makes 2 views'
    return ''


def check_meid_views(cfg: Config) -> None:
    """Refuse a multi-view val / test pipeline for a ``MEIDHead`` without
    ``frames_per_view``.

    ``Recognizer2D`` hands the head ``num_segs`` = every frame of every
    view; without ``frames_per_view`` the head would read the views as one
    long sequence (motion differences across crop boundaries). Configs
    whose head is not a ``MEIDHead``, or that set ``frames_per_view``, pass.

    Args:
        cfg (Config): The full config (after ``--cfg-options``).

    Raises:
        ValueError: Naming the pipeline step and the key to set.
    """
    head = ((cfg.get('model') or {}).get('cls_head')) or {}
    if str(head.get('type', '')).split('.')[-1] != 'MEIDHead':
        return
    if head.get('frames_per_view') is not None:
        return
    for key, pipeline in _pipelines(cfg):
        for i, step in enumerate(pipeline):
            why = _multi_view_step(step) if isinstance(step, dict) else ''
            if why:
                raise ValueError(
                    f'{key}[{i}]: {why} per video, but '
                    'model.cls_head.frames_per_view is not set, so MEIDHead '
                    'would join the views along time. Set '
                    'model.cls_head.frames_per_view to the frames of one '
                    'view (e.g. SampleFrames clip_len * num_clips) to score '
                    'each view and average them per video.'
                )
