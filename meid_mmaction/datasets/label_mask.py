"""The label mask of resampling (VideoLT's ``ResamplingDataset_Mask``).

One home for the whole path of the drawn class, from the sampler to the
loss:

1. a class-aware sampler with ``label_mask=True`` draws video ``v`` for
   class ``c`` and yields :func:`encode_drawn_index` ``(c + 1) * N + v``
   (``N`` videos): a plain int, so it travels through any DataLoader,
   worker count and DDP split;
2. a dataset that accepts such indices (class attribute
   ``accepts_drawn_index = True``) decodes them with :func:`decode_checked`
   / :func:`decode_checked_batch` (range and membership checked on the
   host) and records the class with :func:`set_drawn_class`;
3. the packed data sample carries it in ``metainfo[DRAWN_CLASS]``
   (:func:`get_drawn_class`), a ``FeatureBatchSamples`` as its ``drawn``
   tensor ``[B]`` (-1: none);
4. the head builds the ``[B, C]`` mask with :func:`batch_loss_mask`
   (:func:`resampling_loss_mask`, on the device, no host synchronisation)
   and calls its loss through :func:`call_loss`;
5. a loss applies the mask with :func:`apply_loss_mask` before reducing.

Loss contract: a loss module that takes the mask declares the class
attribute ``accepts_loss_mask = True`` (:data:`LOSS_MASK_ATTR`) and has the
keyword ``loss_mask`` (``[B, C]`` per-element weight, None for none) in its
``forward``. Every classification loss of the package does; a loss without
the attribute (e.g. MMAction2's own) is refused when a batch carries a
mask, never silently left unmasked.
"""

from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..utils.transfer import to_device
from .labels import label_ranges

#: ``metainfo`` / pipeline-results key of the class a video was drawn for.
DRAWN_CLASS = 'drawn_class'

#: Drawn class of a row drawn without a class (its mask is all ones).
NO_CLASS = -1

#: Class attribute by which a loss module declares ``loss_mask=``.
LOSS_MASK_ATTR = 'accepts_loss_mask'


# ----------------------------------------------------------------------
# sampler -> dataset: the encoded index
def encode_drawn_index(
    videos: np.ndarray, classes: np.ndarray, num_videos: int
) -> np.ndarray:
    """Encode (video, drawn class) pairs as ``(c + 1) * N + v``.

    Args:
        videos (np.ndarray): Video indices in ``[0, N)``.
        classes (np.ndarray): Drawn classes (same shape), ``>= 0``.
        num_videos (int): ``N``, the dataset length.

    Returns:
        np.ndarray: int64 indices ``>= N`` (plain indices stay below ``N``).
    """
    return (np.asarray(classes, dtype=np.int64) + 1) * int(
        num_videos
    ) + np.asarray(videos, dtype=np.int64)


def decode_drawn_index(
    index: int, num_videos: int
) -> Tuple[int, Optional[int]]:
    """Inverse of :func:`encode_drawn_index` for one index.

    Args:
        index (int): A plain index ``[0, N)`` or an encoded one.
        num_videos (int): ``N``, the dataset length.

    Returns:
        tuple: ``(video, drawn_class)``; ``drawn_class`` is None for a plain
        index.
    """
    index = int(index)
    if index < 0:
        raise ValueError(f'sample index {index} is negative')
    if index < num_videos:
        return index, None
    return index % num_videos, index // num_videos - 1


def decode_checked(
    index: int,
    num_videos: int,
    num_classes: int,
    labels_of: Callable[[int], List[int]],
) -> Tuple[int, Optional[int]]:
    """:func:`decode_drawn_index`, the drawn class checked on the host.

    The class must be in ``[0, C)`` and among the video's labels (the
    loss's mask relies on it and does not check it on the device).

    Args:
        index (int): A plain or encoded sample index.
        num_videos (int): ``N``, the dataset length.
        num_classes (int): ``C``.
        labels_of (callable): Video index -> its class indices.

    Returns:
        tuple: ``(video, drawn_class or None)``.
    """
    video, drawn_class = decode_drawn_index(index, num_videos)
    if drawn_class is not None and not 0 <= drawn_class < num_classes:
        raise ValueError(
            f'encoded sample index decodes to class {drawn_class}, '
            f'outside [0, {num_classes})'
        )
    if drawn_class is not None and drawn_class not in labels_of(video):
        raise ValueError(
            f'encoded sample index {index} decodes to video {video} '
            f'drawn for class {drawn_class}, which is not among its '
            f'labels {labels_of(video)}'
        )
    return video, drawn_class


def decode_checked_batch(
    indices: Sequence[int],
    num_videos: int,
    num_classes: int,
    label_offsets: np.ndarray,
    label_flat: np.ndarray,
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """:func:`decode_checked` of a whole batch, vectorised.

    Args:
        indices (Sequence[int]): ``B`` plain or encoded sample indices.
        num_videos (int): ``N``, the dataset length.
        num_classes (int): ``C``.
        label_offsets (np.ndarray): ``[N + 1]`` CSR offsets of the labels.
        label_flat (np.ndarray): ``[P]`` CSR class indices of the labels.

    Returns:
        tuple: ``(videos [B], drawn classes [B] with -1 for none)``, or
        ``(indices [B], None)`` when no index is encoded; int64.
    """
    enc = np.asarray(indices, dtype=np.int64).reshape(-1)
    n = num_videos
    if enc.size and int(enc.min()) < 0:
        raise ValueError(f'sample index {int(enc.min())} is negative')
    if not enc.size or int(enc.max()) < n:
        return enc, None
    videos = enc % n
    classes = np.where(enc >= n, enc // n - 1, NO_CLASS)
    out = np.nonzero(classes >= num_classes)[0]
    if len(out):
        raise ValueError(
            f'encoded sample index decodes to class {classes[out[0]]}, '
            f'outside [0, {num_classes})'
        )
    lo = label_offsets[videos]
    hi = label_offsets[videos + 1]
    flat = label_flat[label_ranges(lo, hi)]
    rows = np.repeat(np.arange(len(enc)), hi - lo)
    hit = np.zeros(len(enc), dtype=bool)
    np.logical_or.at(hit, rows, flat == classes[rows])
    bad = np.nonzero((classes >= 0) & ~hit)[0]
    if len(bad):  # raise, naming the first bad index
        v = int(videos[bad[0]])
        labels = label_flat[label_offsets[v] : label_offsets[v + 1]].tolist()
        decode_checked(int(enc[bad[0]]), n, num_classes, lambda _: labels)
    return videos, classes


# ----------------------------------------------------------------------
# dataset -> data sample
def set_drawn_class(meta: dict, drawn_class: Optional[int]) -> dict:
    """Record ``drawn_class`` (an int, or None: nothing) in ``meta`` (a
    pipeline's results or a sample's metainfo); returns ``meta``."""
    if drawn_class is not None:
        meta[DRAWN_CLASS] = int(drawn_class)
    return meta


def get_drawn_class(data_sample) -> Optional[int]:
    """The class a sample was drawn for (``metainfo['drawn_class']``), or
    None when its sampler drew it without a class (or without a label
    mask)."""
    value = data_sample.metainfo.get(DRAWN_CLASS)
    return None if value is None else int(value)


def has_drawn_classes(data_samples) -> bool:
    """Whether any sample of a batch (a list of data samples or a
    ``FeatureBatchSamples``) carries a drawn class."""
    from .feature_batch import FeatureBatchSamples

    if isinstance(data_samples, FeatureBatchSamples):
        return data_samples.drawn is not None
    return any(get_drawn_class(ds) is not None for ds in data_samples)


def check_drawn_classes(
    drawn_classes: Sequence[int], num_classes: int
) -> None:
    """Raise a ValueError unless every drawn class is in ``[0, C)`` or -1.

    Args:
        drawn_classes (Sequence[int]): Python ints, one per batch row.
        num_classes (int): ``C``.
    """
    for row, c in enumerate(drawn_classes):
        if not NO_CLASS <= c < num_classes:
            raise ValueError(
                f'drawn class {c} of batch row {row} '
                f'is outside [0, {num_classes}) (or -1: no class)'
            )


def drawn_classes_of(
    data_samples, num_classes: int, device
) -> Optional[torch.Tensor]:
    """The drawn classes ``[B]`` (long, -1 for none) of a batch on
    ``device``, or None when no sample carries one.

    Per-sample classes are range-checked here, on the host; those of a
    ``FeatureBatchSamples`` were checked where the dataset decoded them.
    The copy to the device does not synchronise the host.

    Args:
        data_samples: A list of data samples or a ``FeatureBatchSamples``.
        num_classes (int): ``C``.
        device (torch.device): Where the result goes.
    """
    from .feature_batch import FeatureBatchSamples

    if isinstance(data_samples, FeatureBatchSamples):
        if data_samples.drawn is None:
            return None
        return to_device(data_samples.drawn, device)
    drawn = [get_drawn_class(ds) for ds in data_samples]
    if all(c is None for c in drawn):
        return None
    drawn = [NO_CLASS if c is None else c for c in drawn]
    check_drawn_classes(drawn, num_classes)
    return to_device(torch.tensor(drawn, dtype=torch.long), device)


# ----------------------------------------------------------------------
# data samples -> mask -> loss
def resampling_loss_mask(
    targets: torch.Tensor,
    drawn_classes: torch.Tensor,
    validate: bool = True,
) -> torch.Tensor:
    """VideoLT's label mask of class-aware resampling.

    A video drawn for class ``c`` keeps its loss on ``c`` and on every
    negative; its other positive classes get weight 0
    (``mask = 1 - (y - onehot(c))``). Rows with ``drawn_classes = -1``
    (drawn without a class) keep every element. The mask itself is a few
    elementwise operations on the device of ``targets`` (no host
    synchronisation).

    Args:
        targets (torch.Tensor): Multi-hot targets ``[B, C]`` (an element
            ``> 0`` is a positive).
        drawn_classes (torch.Tensor): ``[B]`` int, the class each video was
            drawn for, or -1.
        validate (bool): Check that every drawn class is in ``[0, C)`` or
            -1 and among its row's positives (ValueError otherwise). The
            check reads values back to the host, a GPU synchronisation:
            the heads validate the classes on the host instead (the range
            in :func:`drawn_classes_of`; membership where the dataset
            decodes the index) and pass False. Defaults to True.

    Returns:
        torch.Tensor: ``[B, C]`` mask of 0 / 1 in the dtype of ``targets``.
    """
    if targets.dim() != 2 or drawn_classes.shape != targets.shape[:1]:
        raise ValueError(
            f'targets must be [B, C] and drawn_classes [B], got '
            f'{tuple(targets.shape)} and '
            f'{tuple(drawn_classes.shape)}'
        )
    num_classes = targets.shape[1]
    positive = targets > 0
    if validate:
        check_drawn_classes(drawn_classes.tolist(), num_classes)
        for row, c in enumerate(drawn_classes.tolist()):
            if c >= 0 and not bool(positive[row, c]):
                raise ValueError(
                    f'batch row {row} was drawn for class {c}, which is '
                    'not among its positive classes'
                )
    drawn = drawn_classes.to(device=targets.device, dtype=torch.long)
    has_class = (drawn >= 0)[:, None]
    onehot = F.one_hot(drawn.clamp(min=0), num_classes).bool()
    keep = ~positive | ~has_class | (onehot & has_class)
    return keep.to(targets.dtype)


def batch_loss_mask(
    data_samples, targets: torch.Tensor, num_classes: int
) -> Optional[torch.Tensor]:
    """The label mask ``[B, C]`` of a batch, or None.

    None when no sample carries a drawn class (natural sampling);
    otherwise :func:`resampling_loss_mask` of ``targets`` ``[B, C]`` and
    :func:`drawn_classes_of` the batch (all ones for rows without one).

    Args:
        data_samples: A list of data samples or a ``FeatureBatchSamples``.
        targets (torch.Tensor): Multi-hot targets ``[B, C]``.
        num_classes (int): ``C``.
    """
    drawn = drawn_classes_of(data_samples, num_classes, targets.device)
    if drawn is None:
        return None
    return resampling_loss_mask(targets, drawn, validate=False)


def apply_loss_mask(
    loss: torch.Tensor, loss_mask: Optional[torch.Tensor]
) -> torch.Tensor:
    """Weight a per-element loss ``[B, C]`` by ``loss_mask`` ``[B, C]``
    (None: unchanged), in the dtype of the loss."""
    if loss_mask is None:
        return loss
    if loss_mask.shape != loss.shape:
        raise ValueError(
            f'loss_mask {tuple(loss_mask.shape)} must have '
            f'the shape of the loss {tuple(loss.shape)}'
        )
    return loss * loss_mask.to(loss.dtype)


def accepts_loss_mask(loss_module) -> bool:
    """Whether a loss module declares ``accepts_loss_mask = True``."""
    return getattr(loss_module, LOSS_MASK_ATTR, False) is True


def call_loss(
    loss_module,
    scores: torch.Tensor,
    targets: torch.Tensor,
    loss_mask: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """``loss_module(scores, targets[, loss_mask=...])``.

    Args:
        loss_module (callable): The loss.
        scores (torch.Tensor): Logits ``[B, C]``.
        targets (torch.Tensor): Targets ``[B, C]``.
        loss_mask (torch.Tensor, optional): ``[B, C]``; None: no mask.

    Raises:
        ValueError: if a mask is given and the loss does not accept one
            (:func:`accepts_loss_mask`, e.g. MMAction2's own losses).
    """
    if loss_mask is None:
        return loss_module(scores, targets)
    if not accepts_loss_mask(loss_module):
        raise ValueError(
            f'{type(loss_module).__name__} takes no loss_mask, but the '
            'batch comes from a sampler with label_mask=True; use a loss '
            'of meid_mmaction (MultiLabelFocalLoss, ClassBalancedLoss, '
            'LDAMLoss, EQLLoss), declare accepts_loss_mask = True on a loss '
            'of your own whose forward takes loss_mask=, or set '
            'label_mask=False'
        )
    return loss_module(scores, targets, loss_mask=loss_mask)
