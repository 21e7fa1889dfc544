"""Check the data against the model, and every split's files, at the start.

Mistakes in the data otherwise surface late and indirectly: a model built
for 60 classes on a 50-class dataset fails inside a loss with a message
about label shapes; a NaN feature in the validation list fails at the first
validation, epochs after training started.
"""

import copy
import time
from typing import List, Optional, Tuple

from mmaction.registry import DATASETS, HOOKS
from mmengine.dist import broadcast_object_list, get_rank, is_distributed
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from ...datasets.dataset_check import (
    SPLIT_KEYS,
    check_dataset,
    format_report,
    splits_from_config,
)
from ...datasets.multilabel_feature_dataset import MultiLabelFeatureDataset

#: what ``check`` may be, from the cheapest to the most thorough
CHECK_LEVELS = ('off', 'lists', 'headers', 'full')
#: the command that reports every problem of a dataset
CHECK_TOOL = 'python tools/data/check_dataset.py'
#: problem kinds that only warn: the same video in two splits' lists
WARN_KINDS = ('id_in_several_splits',)
_LOOP_ATTRS = dict(
    train_dataloader='_train_loop',
    val_dataloader='_val_loop',
    test_dataloader='_test_loop',
)


def _innermost_cfg(dataset_cfg):
    """The dataset config inside wrapper datasets (``dataset=dict(...)``)."""
    while (
        isinstance(dataset_cfg, dict)
        and 'ann_file' not in dataset_cfg
        and isinstance(dataset_cfg.get('dataset'), dict)
    ):
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def dataset_num_classes(dataset) -> Optional[Tuple[int, str]]:
    """The number of classes of a built dataset and where it comes from.

    Looks through wrapper datasets (``.dataset``) for an integer
    ``num_classes`` attribute, else counts ``metainfo['classes']``.

    Returns:
        tuple or None: ``(number, 'num_classes' | "metainfo['classes']")``,
        None if the dataset states neither.
    """
    inner = dataset
    while True:
        value = getattr(inner, 'num_classes', None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value, 'num_classes'
        if getattr(inner, 'dataset', None) is None:
            break
        inner = inner.dataset
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if classes:
        return len(classes), "metainfo['classes']"
    return None


def model_num_classes(model) -> Optional[int]:
    """``num_classes`` of the model's classification head (None if none)."""
    if is_model_wrapper(model):
        model = model.module
    value = getattr(getattr(model, 'cls_head', None), 'num_classes', None)
    return value if isinstance(value, int) else None


def model_class_numbers(model) -> List[Tuple[str, int]]:
    """Every ``num_classes`` of the model: ``[('model.<module>', n), ...]``.

    The classification head first (``model.cls_head``), then every other
    module with an integer ``num_classes`` attribute (batch blending such as
    FrameStack, the distillation loss), in module order.
    """
    if is_model_wrapper(model):
        model = model.module
    found = []
    for name, module in model.named_modules():
        value = getattr(module, 'num_classes', None)
        if isinstance(value, int) and not isinstance(value, bool):
            found.append((f'model.{name}' if name else 'model', value))
    found.sort(key=lambda item: item[0] != 'model.cls_head')
    return found


@HOOKS.register_module()
class DatasetCheckHook(Hook):
    """Check the data once, before anything is trained or saved.

    * Before every run (train, val, test): every ``num_classes`` of the
      model (``cls_head``, batch blending such as FrameStack, losses) must
      equal the number of classes of each
      split's dataset (built datasets; a split not built yet is compared by
      its config's ``num_classes``). A disagreement raises a ``ValueError``
      naming both keys and values.
    * Before training, a pre-flight check of all splits (train, val and
      test) whose dataset is a :class:`MultiLabelFeatureDataset`, with the
      checks of ``tools/data/check_dataset.py``
      (:mod:`meid_mmaction.datasets.dataset_check`), at the level ``check``:

      - ``'lists'``: video lists (format, labels in range, duplicate ids)
        and the count file;
      - ``'headers'`` (default): also every video's feature header (missing
        or unreadable file, shape ``[num_frames, feat_dim]``); no feature
        values are read;
      - ``'full'``: also every value (NaN / inf), reading all features;
      - ``'off'``: no pre-flight check.

      Problems raise a ``ValueError`` listing them (first examples per kind)
      and pointing to ``tools/data/check_dataset.py`` for the full report. A
      video in the lists of two splits (e.g. train and test) is a warning.
      In distributed runs rank 0 checks and every rank raises.

    ``tools/train.py`` and ``tools/test.py`` add this hook when the config
    has none (``tools/train.py --check-data LEVEL``).

    Args:
        check (str): Pre-flight level, one of ``CHECK_LEVELS``.
        workers (int): Threads reading feature headers / values.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check: str = 'headers', workers: int = 8) -> None:
        if check not in CHECK_LEVELS:
            raise ValueError(
                f'check must be one of {CHECK_LEVELS}, got {check!r}'
            )
        if int(workers) < 1:
            raise ValueError(f'workers must be >= 1, got {workers}')
        self.check = check
        self.workers = int(workers)

    # ------------------------------------------------------------------
    # model vs dataset classes
    # ------------------------------------------------------------------
    def before_run(self, runner) -> None:
        """Compare every ``num_classes`` of the model (head, batch
        blending, losses: :func:`model_class_numbers`) with every split's
        number of classes."""
        numbers = model_class_numbers(runner.model)
        if not numbers:
            return
        splits = self._split_num_classes(runner)
        problems = []
        for module, model_n in numbers:
            wrong = []
            for key, (value, source) in splits:
                if value != model_n:
                    wrong.append(
                        f'{key}.dataset.{source}={value}'
                        if source == 'num_classes'
                        else f'{key}.dataset has {value} classes ({source})'
                    )
            if wrong:
                problems.append(
                    f'{module}.num_classes={model_n} disagrees with the '
                    f'data: {"; ".join(wrong)}.'
                )
        if problems:
            raise ValueError(
                ' '.join(problems) + ' The model needs one output per class '
                'of the dataset: set both to the same value (e.g. '
                '--cfg-options model.cls_head.num_classes=N, and '
                '<split>_dataloader.dataset.num_classes=N for every split; '
                'the num_classes data key sets the datasets and the batch '
                'blending at once).'
            )

    @staticmethod
    def _split_num_classes(runner) -> List[Tuple[str, Tuple[int, str]]]:
        out = []
        for key, attr in _LOOP_ATTRS.items():
            loop = getattr(runner, attr, None)
            if isinstance(loop, BaseLoop):
                found = dataset_num_classes(
                    getattr(loop.dataloader, 'dataset', None)
                )
            else:  # not built in this run: compare the config's value
                loader = runner.cfg.get(key) or {}
                ds = _innermost_cfg(loader.get('dataset') or {})
                value = ds.get('num_classes') if isinstance(ds, dict) else None
                found = (
                    (value, 'num_classes') if isinstance(value, int) else None
                )
            if found is not None:
                out.append((key, found))
        return out

    # ------------------------------------------------------------------
    # pre-flight check of the files
    # ------------------------------------------------------------------
    def before_train(self, runner) -> None:
        """Check all splits' lists, count file and features."""
        if self.check == 'off':
            return
        result = [None]
        if get_rank() == 0:
            result = [self._preflight(runner)]
        if is_distributed():
            broadcast_object_list(result, src=0)
        errors, warnings = result[0]
        for message in warnings:
            print_log(message, logger='current', level=30)
        if errors:
            raise ValueError(errors)

    def _feature_split_keys(self, cfg) -> List[Tuple[str, str]]:
        keys = []
        for name, key in SPLIT_KEYS:
            loader = cfg.get(key)
            if not loader or not isinstance(loader.get('dataset'), dict):
                continue
            ds_type = _innermost_cfg(loader['dataset']).get('type')
            cls = (
                DATASETS.get(ds_type) if isinstance(ds_type, str) else ds_type
            )
            if isinstance(cls, type) and issubclass(
                cls, MultiLabelFeatureDataset
            ):
                keys.append((name, key))
        return keys

    def _preflight(self, runner) -> Tuple[Optional[str], List[str]]:
        """Run the checks; return ``(error message or None, warnings)``."""
        from ...utils.data_keys import apply_data_keys

        cfg = copy.deepcopy(runner.cfg)
        apply_data_keys(cfg)  # a no-op when the tools applied them
        keys = self._feature_split_keys(cfg)
        if not keys:
            return None, []
        start = time.perf_counter()
        info = splits_from_config(cfg, split_keys=keys)
        report = check_dataset(
            info['splits'],
            num_classes=info['num_classes'],
            count_file=info['count_file'],
            workers=self.workers,
            progress=False,
            check_features_too=self.check in ('headers', 'full'),
            check_values=self.check == 'full',
        )
        what = dict(
            lists='lists and count file',
            headers='lists, count file and feature headers',
            full='lists, count file and all feature values',
        )
        print_log(
            f'DatasetCheckHook: checked {what[self.check]} of the '
            f'{", ".join(info["splits"])} splits in '
            f'{time.perf_counter() - start:.1f} s '
            f'(check={self.check!r})',
            logger='current',
        )
        warnings = []
        for kind in WARN_KINDS:
            group = report['problems'].pop(kind, None)
            if group is None:
                continue
            report['num_problems'] -= group['count']
            warnings.append(
                f'{group["count"]} video(s) are in the lists of two splits '
                '(a video should be in one of train / val / test only), '
                'e.g.: ' + '; '.join(group['examples'])
            )
        if not report['num_problems']:
            return None, warnings
        report['ok'] = False
        config = runner.cfg.filename or '<config>'
        flags = {
            'lists': ' --no-features',
            'headers': ' --headers-only',
            'full': '',
        }[self.check]
        error = (
            'The pre-flight check of the data found problems (nothing was '
            'trained):\n' + format_report(report) + '\nSee every problem '
            f'with `{CHECK_TOOL} --config {config}{flags}` (plus the same '
            '--cfg-options), fix the data or the config, and train again; '
            '`tools/train.py --check-data off` skips this check.'
        )
        return error, warnings
