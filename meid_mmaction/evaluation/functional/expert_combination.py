"""Choose how to combine two experts' scores by validation mAP.

The candidates (docs/design.md, "Validation-chosen expert combination"):

* ``('logit', a)``: ``sigmoid(Y + a Y_F)``; ``a = 0`` is expert 1 alone;
* ``('mix', w)``: ``w sigmoid(Y) + (1 - w) sigmoid(Y_F)``; ``w = 0`` is
  expert 2 alone.

:func:`combination_candidates` builds the list (expert 1 alone first),
:func:`choose_combination` picks, from the per-class validation AP of every
candidate (``[K, C]``, :func:`average_precision`), the candidate of best
overall mAP (``per_group=False``) or the best candidate of each class group
(``per_group=True``; the group's mAP decides). AP is computed per class, so
the scores of class ``c`` depend only on the candidate chosen for ``c``:
the mAP of a per-group choice is the mean of the chosen candidates' APs, and
it is the best any assignment of one candidate per group can reach.
"""

import dataclasses
import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from .average_precision import mean_ap

#: Candidate forms and their codes in the head's ``combination_form``
#: buffer.
COMBINATION_FORMS = ('logit', 'mix')

#: Mixture weights ``w`` tried by default: 0, 0.1, ..., 1.
DEFAULT_MIX_GRID = tuple(round(0.1 * i, 1) for i in range(11))
#: Logit weights ``a`` tried by default: 0, 0.25, ..., 3, then 4, 6, 8.
DEFAULT_LOGIT_GRID = tuple(0.25 * i for i in range(13)) + (4.0, 6.0, 8.0)

#: Two candidates whose mAP differ by less than this are tied; the earlier
#: one (expert 1 alone first) wins.
TIE_TOLERANCE = 1e-12


def _check_grid(name: str, grid, low: float, high: float) -> Tuple:
    values = tuple(grid)
    bad = [
        v
        for v in values
        if isinstance(v, bool)
        or not isinstance(v, (int, float))
        or not math.isfinite(v)
        or not low <= v <= high
    ]
    if bad or not values:
        raise ValueError(
            f'{name} must be a non-empty sequence of numbers in '
            f'[{low}, {high}], got {grid!r}'
        )
    return tuple(sorted(set(float(v) for v in values)))


def combination_candidates(
    logit_grid: Sequence[float] = DEFAULT_LOGIT_GRID,
    mix_grid: Sequence[float] = DEFAULT_MIX_GRID,
) -> List[Tuple[str, float]]:
    """The candidate list: expert 1 alone, the logit form, the mixture.

    Args:
        logit_grid (Sequence[float]): ``a`` values, ``>= 0`` (``0``, expert
            1 alone, is always included).
        mix_grid (Sequence[float]): ``w`` values in ``[0, 1]``; may be
            empty (``()``) to try the logit form only.

    Returns:
        list[tuple[str, float]]: ``('logit', 0.0)`` first, then the other
        ``('logit', a)`` ascending, then ``('mix', w)`` descending (from
        expert 1 towards expert 2).
    """
    logit = _check_grid('auto_logit_grid', logit_grid, 0.0, math.inf)
    mix = (
        _check_grid('auto_mix_grid', mix_grid, 0.0, 1.0)
        if len(tuple(mix_grid))
        else ()
    )
    out = [('logit', 0.0)]
    out += [('logit', a) for a in logit if a != 0.0]
    out += [('mix', w) for w in sorted(mix, reverse=True)]
    return out


def candidate_name(candidate: Tuple[str, float]) -> str:
    """Readable name of a candidate, e.g. ``'s(Y + 1.5 Y_F)'``."""
    form, value = candidate
    if form == 'logit':
        return 's(Y)' if value == 0.0 else f's(Y + {value:g} Y_F)'
    return f'{value:g} s(Y) + {1 - value:g} s(Y_F)'


@dataclasses.dataclass
class CombinationChoice:
    """The result of :func:`choose_combination`.

    Attributes:
        candidates (list[tuple[str, float]]): The ``K`` candidates.
        candidate_map (dict): ``{'mAP': [K], 'mAP_<group>': [K]}``:
            validation mAP of every candidate, overall and per group.
        chosen (dict): ``{'all': k}`` (global choice) or
            ``{'<group>': k}`` per group (and ``'all'`` for the classes in
            no group): the index of the chosen candidate.
        form (torch.Tensor): ``[C]`` long, the chosen form per class
            (index into :data:`COMBINATION_FORMS`).
        value (torch.Tensor): ``[C]`` float32, the chosen ``a`` or ``w``.
        chosen_map (dict): ``{'mAP': ..., 'mAP_<group>': ...}`` of the
            chosen combination.
    """

    candidates: List[Tuple[str, float]]
    candidate_map: Dict[str, List[float]]
    chosen: Dict[str, int]
    form: torch.Tensor
    value: torch.Tensor
    chosen_map: Dict[str, float]


def _best(values: Sequence[float]) -> Optional[int]:
    """Index of the largest non-NaN value; the first one among ties."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return None
    top = max(finite)
    return next(
        i
        for i, v in enumerate(values)
        if not math.isnan(v) and v >= top - TIE_TOLERANCE
    )


def choose_combination(
    ap: torch.Tensor,
    candidates: Sequence[Tuple[str, float]],
    groups: Optional[Mapping[str, Sequence[int]]] = None,
    per_group: bool = False,
) -> CombinationChoice:
    """Choose the candidate(s) of best validation mAP.

    Args:
        ap (torch.Tensor): ``[K, C]`` per-class validation AP of each
            candidate (NaN: class without a positive, left out of means).
        candidates (Sequence[tuple[str, float]]): The ``K`` candidates
            (:func:`combination_candidates`).
        groups (Mapping, optional): ``{'head': [...], 'medium': [...],
            'tail': [...]}`` class indices; needed for ``per_group``, else
            only reported.
        per_group (bool): One choice per group (by the group's mAP)
            instead of one for all classes (by the overall mAP). A group
            with no class that has a validation positive takes the global
            choice.

    Returns:
        CombinationChoice: the choice, per-class buffers and the table.

    Raises:
        ValueError: On a shape mismatch, an unknown form, no class with a
            positive, or ``per_group`` without groups.
    """
    ap = torch.as_tensor(ap, dtype=torch.float64).cpu()
    candidates = [(str(f), float(v)) for f, v in candidates]
    if ap.dim() != 2 or ap.shape[0] != len(candidates):
        raise ValueError(
            f'ap must be [K, C] with K = {len(candidates)} candidates, got '
            f'shape {tuple(ap.shape)}'
        )
    unknown = sorted({f for f, _ in candidates} - set(COMBINATION_FORMS))
    if unknown:
        raise ValueError(
            f'unknown combination form(s) {unknown}; expected one of '
            f'{COMBINATION_FORMS}'
        )
    if per_group and not groups:
        raise ValueError(
            'choose_combination(per_group=True) needs the class groups '
            "{'head': [...], 'medium': [...], 'tail': [...]}"
        )
    groups = {g: [int(c) for c in idx] for g, idx in (groups or {}).items()}
    table = {'mAP': [mean_ap(row) for row in ap]}
    for g, idx in groups.items():
        table[f'mAP_{g}'] = [
            mean_ap(row, idx) if idx else math.nan for row in ap
        ]
    best_all = _best(table['mAP'])
    if best_all is None:
        raise ValueError(
            'no class has a positive validation video: the expert '
            'combination cannot be chosen'
        )
    num_classes = ap.shape[1]
    pick = torch.full((num_classes,), best_all, dtype=torch.long)
    chosen = {'all': best_all}
    if per_group:
        in_group = torch.zeros(num_classes, dtype=torch.bool)
        for g, idx in groups.items():
            k = _best(table[f'mAP_{g}'])
            k = best_all if k is None else k
            chosen[g] = k
            pick[idx] = k
            in_group[idx] = True
        if bool(in_group.all()):
            del chosen['all']
    codes = torch.tensor(
        [COMBINATION_FORMS.index(f) for f, _ in candidates], dtype=torch.long
    )
    values = torch.tensor([v for _, v in candidates], dtype=torch.float32)
    chosen_ap = ap[pick, torch.arange(num_classes)]
    chosen_map = {'mAP': mean_ap(chosen_ap)}
    for g, idx in groups.items():
        chosen_map[f'mAP_{g}'] = mean_ap(chosen_ap, idx) if idx else math.nan
    return CombinationChoice(
        candidates=candidates,
        candidate_map=table,
        chosen=chosen,
        form=codes[pick],
        value=values[pick],
        chosen_map=chosen_map,
    )


def format_choice_table(choice: CombinationChoice) -> str:
    """A compact text table: one row per candidate, its validation mAP
    overall and per group, ``*`` marking the chosen ones (with the groups
    that chose them)."""
    keys = list(choice.candidate_map)
    by_candidate: Dict[int, List[str]] = {}
    for g, k in choice.chosen.items():
        by_candidate.setdefault(k, []).append(g)
    names = [candidate_name(c) for c in choice.candidates]
    width = max(len(n) for n in names + ['candidate'])
    head = f'  {"candidate":<{width}} ' + ' '.join(f'{k:>10}' for k in keys)
    lines = [head]
    for i, name in enumerate(names):
        cells = ' '.join(f'{choice.candidate_map[k][i]:>10.4f}' for k in keys)
        mark = by_candidate.get(i)
        tail = f'  * {",".join(mark)}' if mark else ''
        lines.append(f'  {name:<{width}} {cells}{tail}')
    cells = ' '.join(
        f'{choice.chosen_map.get(k, math.nan):>10.4f}' for k in keys
    )
    lines.append(f'  {"chosen":<{width}} {cells}')
    return '\n'.join(lines)
