"""Predict new videos with a trained checkpoint (``tools/predict.py``).

The inputs are read with the config's own test pipeline
(``test_dataloader.dataset.pipeline``, after the data keys are applied) and
scored by MMAction2's inference API (:func:`mmaction.apis.init_recognizer`,
:func:`mmaction.apis.inference_recognizer`), one video at a time, so a
prediction equals what ``tools/test.py`` scores for the same video (same
frames, same views, same ``MEIDHead`` view averaging).

Inputs (:func:`collect_inputs`):

* a feature config (a :class:`MultiLabelFeatureDataset` test set): a list
  file (``.lst`` / ``.txt``; ``<video id>`` or ``<video id> <labels>`` per
  line) whose features are read from the config's feature directory, a
  folder of ``<video id>.npy`` files, or one ``.npy`` file;
* a raw-video config (e.g. ``Recognizer2D`` on ``VideoDataset``): a video
  file, a folder of videos, or a list file of video paths (first field of
  each line, joined to the test set's ``data_prefix['video']``).

Outputs (:func:`write_predictions`): ``predictions.csv`` (per video the
top-k class names and scores), ``scores.npy`` (``[N, C]`` float32, all
scores, rows in the CSV's order), ``video_ids.txt`` and ``classes.txt``.
"""

import csv
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..datasets.annotations import parse_class_counts, parse_video_ids
from .compat import get_pred_score

#: Extensions of a raw video file.
VIDEO_EXTS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.mpeg')
#: Extensions of a list file.
LIST_EXTS = ('.lst', '.txt')
FEATURE_EXT = '.npy'


def test_dataset_cfg(cfg) -> dict:
    """The innermost ``test_dataloader.dataset`` (through wrappers)."""
    ds = (cfg.get('test_dataloader') or {}).get('dataset')
    if not isinstance(ds, dict):
        raise ValueError(
            'the config has no test_dataloader.dataset to take the test '
            'pipeline from'
        )
    while 'pipeline' not in ds and isinstance(ds.get('dataset'), dict):
        ds = ds['dataset']
    if not ds.get('pipeline'):
        raise ValueError('test_dataloader.dataset has no pipeline')
    return ds


def is_feature_config(cfg) -> bool:
    """Whether the test set is a per-frame feature dataset."""
    from .data_keys import _is_feature_dataset

    return _is_feature_dataset(test_dataset_cfg(cfg).get('type'))


def _join(root: Optional[str], path: str) -> str:
    if not root or osp.isabs(path):
        return path
    return osp.join(root, path)


def feature_root(cfg) -> str:
    """The feature directory of the test set (``data_root`` joined)."""
    ds = test_dataset_cfg(cfg)
    prefix = ds.get('data_prefix') or {}
    feat = prefix if isinstance(prefix, str) else prefix.get('feat', '')
    return _join(ds.get('data_root'), feat or '')


def _kind(path: str) -> str:
    ext = osp.splitext(path)[1].lower()
    if ext == FEATURE_EXT:
        return 'feature'
    if ext in VIDEO_EXTS:
        return 'video'
    if ext in LIST_EXTS:
        return 'list'
    return ''


def _allowed(feature: bool) -> str:
    exts = (FEATURE_EXT,) if feature else VIDEO_EXTS
    return ', '.join(exts + LIST_EXTS)


def collect_inputs(cfg, path: str) -> List[Tuple[str, dict]]:
    """The videos of ``path`` as ``(video id, pipeline input)`` pairs.

    Args:
        cfg (Config): The config (data keys applied).
        path (str): A list file, a folder, a ``.npy`` feature file (feature
            configs) or a video file (raw-video configs).

    Returns:
        list[tuple[str, dict]]: The id and the dict the test pipeline starts
        from (``video_id`` / ``feature_root`` / ``feat_dim`` /
        ``num_classes`` for features; ``filename`` for videos).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: An extension that is not allowed for this config, or a
            folder without a single input, naming the file and the allowed
            extensions.
    """
    feature = is_feature_config(cfg)
    want = 'feature' if feature else 'video'
    if not osp.exists(path):
        raise FileNotFoundError(f'input not found: {path}')
    if osp.isdir(path):
        files = sorted(
            f
            for f in os.listdir(path)
            if not f.startswith('.') and osp.isfile(osp.join(path, f))
        )
        for f in files:
            if _kind(f) != want:
                exts = (FEATURE_EXT,) if feature else VIDEO_EXTS
                raise ValueError(
                    f'{osp.join(path, f)}: not a {want} file; a folder to '
                    f'predict with this config holds only {", ".join(exts)} '
                    'files'
                )
        if not files:
            raise ValueError(f'{path}: the folder holds no {want} file')
        paths = [osp.join(path, f) for f in files]
    else:
        kind = _kind(path)
        if kind not in (want, 'list'):
            raise ValueError(
                f'{path}: unknown input extension '
                f'{osp.splitext(path)[1]!r} for this '
                f'{"feature" if feature else "raw-video"} config; expected '
                f'one of {_allowed(feature)} or a folder'
            )
        paths = [path]
        if kind == 'list':
            return _from_list(cfg, path, feature)
    if feature:
        return [_feature_input(cfg, osp.dirname(p), _stem(p)) for p in paths]
    return [(osp.basename(p), dict(filename=p)) for p in paths]


def _stem(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def _from_list(cfg, path: str, feature: bool) -> List[Tuple[str, dict]]:
    ds = test_dataset_cfg(cfg)
    ids = parse_video_ids(path, ds.get('num_classes') if feature else None)
    if feature:
        root = feature_root(cfg)
        return [_feature_input(cfg, root, vid) for vid in ids]
    prefix = ds.get('data_prefix') or {}
    root = prefix.get('video') if isinstance(prefix, dict) else prefix
    return [(vid, dict(filename=_join(root, vid))) for vid in ids]


def _feature_input(cfg, root: str, video_id: str) -> Tuple[str, dict]:
    ds = test_dataset_cfg(cfg)
    return video_id, dict(
        video_id=video_id,
        feature_root=root,
        feat_dim=ds.get('feat_dim'),
        num_classes=ds.get('num_classes'),
    )


def class_names(
    cfg,
    num_classes: int,
    classes_file: Optional[str] = None,
    dataset_meta: Optional[dict] = None,
) -> Tuple[List[str], str]:
    """Class names for the predictions and where they came from.

    In order: ``classes_file`` (one name per line), the test set's
    ``count_file``, its ``metainfo['classes']`` (a list, or a file as
    mmengine reads it), the checkpoint's ``dataset_meta['classes']``, else
    ``class_<i>``.

    Args:
        cfg (Config): The config (data keys applied).
        num_classes (int): ``C`` (the width of the scores).
        classes_file (str, optional): A ``classes`` file.
        dataset_meta (dict, optional): ``meta['dataset_meta']`` of the
            checkpoint.

    Returns:
        tuple: ``(names, source)``.

    Raises:
        FileNotFoundError / ValueError: A given file is missing, or a source
            has another number of names than ``num_classes``, naming it.
    """
    ds = test_dataset_cfg(cfg)
    if classes_file is not None:
        return _names_file(classes_file, num_classes), classes_file
    count_file = ds.get('count_file')
    if count_file:
        count_file = _join(ds.get('data_root'), count_file)
        if osp.isfile(count_file):
            names, _ = parse_class_counts(count_file, num_classes)
            return list(names), count_file
    meta_names = (ds.get('metainfo') or {}).get('classes')
    if isinstance(meta_names, str):
        return _names_file(meta_names, num_classes), meta_names
    if meta_names:
        return _checked(list(meta_names), num_classes, 'metainfo'), (
            "test_dataloader.dataset.metainfo['classes']"
        )
    meta_names = (dataset_meta or {}).get('classes')
    if meta_names and len(meta_names) == num_classes:
        return [str(n) for n in meta_names], "the checkpoint's dataset_meta"
    return [f'class_{i}' for i in range(num_classes)], 'none (class_<i>)'


def _checked(names: List[str], num_classes: int, where: str) -> List[str]:
    if len(names) != num_classes:
        raise ValueError(
            f'{where}: {len(names)} class names, but the model scores '
            f'{num_classes} classes'
        )
    return [str(n) for n in names]


def _names_file(path: str, num_classes: int) -> List[str]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'classes file not found: {path}')
    with open(path, encoding='utf-8') as f:
        names = [line.strip() for line in f if line.strip()]
    return _checked(names, num_classes, path)


def load_model(cfg, checkpoint: str, device: str):
    """The recognizer of ``cfg`` with the weights of ``checkpoint``.

    Built by :func:`mmaction.apis.init_recognizer`; the weights are loaded
    strictly, so a checkpoint of another model is an error naming the file
    and its missing / unexpected keys.

    Returns:
        tuple: ``(model, dataset_meta)`` (``{}`` when the checkpoint has
        none).
    """
    from mmaction.apis import init_recognizer
    from mmengine.runner import load_checkpoint

    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    model = init_recognizer(cfg, None, device)
    try:
        ckpt = load_checkpoint(
            model, checkpoint, map_location='cpu', strict=True
        )
    except RuntimeError as e:
        raise ValueError(
            f'{checkpoint} does not fit the model of the config '
            f'(another model or other sizes?): {e}'
        ) from None
    model.to(device).eval()
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    return model, dict(meta.get('dataset_meta') or {})


def predict(
    model, cfg, inputs: Sequence[Tuple[str, dict]]
) -> Tuple[List[str], np.ndarray]:
    """Score every input with the config's test pipeline.

    Args:
        model (nn.Module): From :func:`load_model`.
        cfg (Config): The config (data keys applied).
        inputs (Sequence): From :func:`collect_inputs`.

    Returns:
        tuple: ``(video ids, scores [N, C] float32)``.

    Raises:
        ValueError / FileNotFoundError: A video that cannot be read or
            scored, naming it.
    """
    import copy

    from mmaction.apis import inference_recognizer
    from mmengine.dataset import Compose

    pipeline = Compose(copy.deepcopy(test_dataset_cfg(cfg)['pipeline']))
    ids, rows = [], []
    for vid, data in inputs:
        where = data.get('filename') or osp.join(
            data['feature_root'], f'{vid}{FEATURE_EXT}'
        )
        if 'filename' in data and not osp.isfile(data['filename']):
            raise FileNotFoundError(
                f'video {vid!r} not found: {data["filename"]}'
            )
        try:
            # a video path: MMAction2 makes the pipeline's input dict
            video = data['filename'] if 'filename' in data else dict(data)
            sample = inference_recognizer(model, video, pipeline)
        except (FileNotFoundError, ValueError):
            raise
        except Exception as e:  # decoders raise many kinds of errors
            raise ValueError(
                f'{where}: cannot score this video: {type(e).__name__}: {e}'
            ) from e
        ids.append(vid)
        rows.append(get_pred_score(sample).detach().float().cpu())
    return ids, torch.stack(rows).numpy()


def topk(scores: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` highest scores of every row.

    Ties are broken towards the lower class index (as ``LongTailMAP``'s
    top-k does).

    Args:
        scores (np.ndarray): ``[N, C]``.
        k (int): ``1 <= k``; capped at ``C``.

    Returns:
        tuple: ``([N, k] int64 indices, [N, k] values)``.
    """
    if k < 1:
        raise ValueError(f'--topk must be >= 1, got {k}')
    k = min(k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind='stable')[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


def write_predictions(
    out_dir: str,
    ids: Sequence[str],
    scores: np.ndarray,
    names: Sequence[str],
    k: int,
) -> dict:
    """Write ``predictions.csv``, ``scores.npy``, ``video_ids.txt`` and
    ``classes.txt`` into ``out_dir``.

    CSV columns: ``video_id``, then ``class_1, score_1, ..., class_k,
    score_k`` (class names, highest score first).

    Returns:
        dict: The paths written (``csv``, ``scores``, ``ids``, ``classes``).
    """
    os.makedirs(out_dir, exist_ok=True)
    idx, val = topk(scores, k)
    paths = dict(
        csv=osp.join(out_dir, 'predictions.csv'),
        scores=osp.join(out_dir, 'scores.npy'),
        ids=osp.join(out_dir, 'video_ids.txt'),
        classes=osp.join(out_dir, 'classes.txt'),
    )
    with open(paths['csv'], 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        header = ['video_id']
        for r in range(1, idx.shape[1] + 1):
            header += [f'class_{r}', f'score_{r}']
        writer.writerow(header)
        for vid, row_idx, row_val in zip(ids, idx, val):
            cells = [vid]
            for c, v in zip(row_idx, row_val):
                cells += [names[c], f'{float(v):.6f}']
            writer.writerow(cells)
    np.save(paths['scores'], scores.astype(np.float32))
    with open(paths['ids'], 'w', encoding='utf-8') as f:
        f.writelines(f'{vid}\n' for vid in ids)
    with open(paths['classes'], 'w', encoding='utf-8') as f:
        f.writelines(f'{n}\n' for n in names)
    return paths
