"""Per-class average precision, vectorised over classes in torch.

AP follows ``docs/method.md``: rank the videos by score for class ``c`` and
average the precision at the rank of every positive video. Tied scores form
one threshold, exactly as scikit-learn's ``average_precision_score`` does:

    AP_c = sum_t (R_t - R_{t-1}) * P_t

over the distinct score thresholds ``t`` (in decreasing order), where
``P_t`` / ``R_t`` are precision / recall of "score >= t". With no ties this
is ``(1 / n_pos) * sum_{k positive} precision@k``.

Implementation: each class column is sorted once (descending), true
positives are cumulated, and only the last element of every run of equal
scores contributes ``(tp_end - tp_prev_end) * tp_end / rank_end``. Classes
are processed in chunks so that memory stays bounded on large test sets
(51k videos x 1k classes).
"""

from typing import Optional, Sequence, Union

import torch

# Number of score elements handled at once (chunks of whole classes): a
# few float64 temporaries each, about 0.2 GB at the peak. Larger chunks were
# not faster on CPU (51k x 1k problem).
_DEFAULT_CHUNK_ELEMENTS = 1 << 22


def _check_inputs(scores: torch.Tensor, labels: torch.Tensor) -> None:
    if scores.dim() != 2:
        raise ValueError(
            'scores must be a 2-D tensor [N, C] (videos x '
            f'classes), got shape {tuple(scores.shape)}'
        )
    if labels.shape != scores.shape:
        raise ValueError(
            f'labels must have the shape of scores '
            f'{tuple(scores.shape)} [N, C], got '
            f'{tuple(labels.shape)}'
        )
    if scores.shape[0] == 0:
        raise ValueError(
            'scores has no video (shape '
            f'{tuple(scores.shape)}); expected N >= 1 rows'
        )
    if scores.is_floating_point():
        n_nan = int(torch.isnan(scores).sum())
        if n_nan:
            rows, cols = torch.nonzero(torch.isnan(scores), as_tuple=True)
            raise ValueError(
                f'scores contain {n_nan} NaN value(s), first at video '
                f'{int(rows[0])}, class {int(cols[0])}; expected finite '
                'scores'
            )
    bad = (labels != 0) & (labels != 1)
    if bool(bad.any()):
        rows, cols = torch.nonzero(bad, as_tuple=True)
        value = labels[rows[0], cols[0]].item()
        raise ValueError(
            f'labels must be 0/1 (multi-hot), got {value!r} at video '
            f'{int(rows[0])}, class {int(cols[0])} '
            f'({int(bad.sum())} non-binary value(s) in total)'
        )


def _ap_chunk(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """AP of every row of ``scores`` / ``labels`` (both ``[c, N]``).

    Returns:
        torch.Tensor: ``[c]`` float64, NaN where a row has no positive.
    """
    n = scores.shape[1]
    # The order inside a run of tied scores does not change the result
    # (only run ends count), so an unstable sort is enough.
    sorted_scores, order = torch.sort(scores, dim=1, descending=True)
    pos = torch.gather(labels, 1, order).to(torch.float64)
    tp = torch.cumsum(pos, dim=1)  # [c, N] true positives at rank k + 1
    # last element of each run of equal scores: a threshold boundary
    last = torch.ones_like(sorted_scores, dtype=torch.bool)
    last[:, :-1] = sorted_scores[:, :-1] != sorted_scores[:, 1:]
    tp_end = torch.where(last, tp, torch.zeros_like(tp))
    # tp at the previous run end (tp is non-decreasing along the rank)
    prev_end = torch.zeros_like(tp)
    prev_end[:, 1:] = torch.cummax(tp_end, dim=1).values[:, :-1]
    ranks = torch.arange(1, n + 1, dtype=torch.float64, device=scores.device)
    gain = torch.where(
        last, (tp - prev_end) * tp / ranks, torch.zeros_like(tp)
    )
    n_pos = tp[:, -1]
    ap = gain.sum(dim=1) / n_pos
    return torch.where(n_pos > 0, ap, torch.full_like(ap, float('nan')))


def average_precision(
    scores: torch.Tensor,
    labels: torch.Tensor,
    chunk_elements: Optional[int] = None,
) -> torch.Tensor:
    """Per-class average precision (scikit-learn's definition, ties too).

    Computed on the device of ``scores``.

    Args:
        scores (torch.Tensor): ``[N, C]`` scores (higher = more confident).
        labels (torch.Tensor): ``[N, C]`` multi-hot ground truth, values in
            ``{0, 1}`` (any dtype).
        chunk_elements (int, optional): How many score elements to process
            at once (whole classes per chunk); bounds the memory. Defaults
            to ``2 ** 22``.

    Returns:
        torch.Tensor: ``[C]`` float64 AP per class; NaN for classes without
        any positive video.
    """
    scores = torch.as_tensor(scores)
    labels = torch.as_tensor(labels, device=scores.device)
    _check_inputs(scores, labels)
    if chunk_elements is None:
        chunk_elements = _DEFAULT_CHUNK_ELEMENTS
    if chunk_elements < 1:
        raise ValueError(f'chunk_elements must be >= 1, got {chunk_elements}')
    n, c = scores.shape
    per_chunk = max(1, chunk_elements // n)
    # [C, N] rows, transposed once: one contiguous sort per class.
    scores_t = scores.t().contiguous()
    labels_t = labels.t().contiguous()
    out = []
    for start in range(0, c, per_chunk):
        stop = min(c, start + per_chunk)
        out.append(_ap_chunk(scores_t[start:stop], labels_t[start:stop]))
    if not out:
        return torch.zeros(0, dtype=torch.float64, device=scores.device)
    return torch.cat(out)


def mean_ap(
    ap: torch.Tensor,
    classes: Optional[Union[Sequence[int], torch.Tensor]] = None,
) -> float:
    """Mean of the per-class APs ``[C]``, leaving NaN (no positive) out.

    Args:
        ap (torch.Tensor): ``[C]`` per-class AP (NaN = class excluded).
        classes (Sequence[int] | torch.Tensor, optional): Restrict the mean
            to these class indices (e.g. a head / medium / tail group).

    Returns:
        float: The mean; NaN when no selected class has a positive.
    """
    ap = torch.as_tensor(ap)
    if classes is not None:
        idx = torch.as_tensor(classes, dtype=torch.long, device=ap.device)
        ap = ap[idx]
    valid = ap[~torch.isnan(ap)]
    if valid.numel() == 0:
        return float('nan')
    return float(valid.to(torch.float64).mean())
