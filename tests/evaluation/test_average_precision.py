import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from meid_mmaction.evaluation.functional import average_precision, mean_ap


def _sklearn_ap(scores, labels):
    out = []
    for c in range(scores.shape[1]):
        if labels[:, c].sum() == 0:
            out.append(math.nan)
            continue
        out.append(average_precision_score(labels[:, c], scores[:, c]))
    return np.array(out)


def _random_problem(seed, n=300, c=9, rate=0.15):
    rng = np.random.default_rng(seed)
    scores = rng.random((n, c))
    labels = (rng.random((n, c)) < rate).astype(np.int64)
    labels[:, -1] = 0  # a class without any positive
    labels[0, 0] = 1
    return scores, labels


@pytest.mark.parametrize('decimals', [None, 1, 0])
def test_matches_sklearn_random_and_tied(decimals):
    scores, labels = _random_problem(decimals or 3)
    if decimals is not None:  # heavy ties: 11 or 2 distinct values
        scores = np.round(scores, decimals)
    ap = average_precision(torch.from_numpy(scores), torch.from_numpy(labels))
    assert ap.dtype == torch.float64 and ap.shape == (9,)
    ref = _sklearn_ap(scores, labels)
    assert np.isnan(ap[-1].item()) and np.isnan(ref[-1])
    np.testing.assert_allclose(ap.numpy()[:-1], ref[:-1], atol=1e-6, rtol=0)


def test_chunking_and_float32_match():
    scores, labels = _random_problem(7, n=101, c=13)
    s32 = torch.from_numpy(np.round(scores, 2)).float()
    full = average_precision(s32, torch.from_numpy(labels))
    chunked = average_precision(
        s32, torch.from_numpy(labels), chunk_elements=101 * 3
    )
    assert torch.equal(torch.isnan(full), torch.isnan(chunked))
    ok = ~torch.isnan(full)
    assert torch.equal(full[ok], chunked[ok])
    ref = _sklearn_ap(s32.numpy(), labels)
    np.testing.assert_allclose(full.numpy()[:-1], ref[:-1], atol=1e-6, rtol=0)


def test_hand_computed_with_ties():
    # class 0: ranking 0.9(+) 0.8(-) 0.7(+): AP = (1 + 2/3) / 2
    # class 1: all tied at 0.5, 1 positive of 4: AP = 1/4
    scores = torch.tensor([[0.9, 0.5], [0.8, 0.5], [0.7, 0.5], [0.1, 0.5]])
    labels = torch.tensor([[1, 0], [0, 0], [1, 1], [0, 0]])
    ap = average_precision(scores, labels)
    assert ap[0].item() == pytest.approx((1 + 2 / 3) / 2, abs=1e-12)
    assert ap[1].item() == pytest.approx(0.25, abs=1e-12)
    # A tie between a positive and a negative at the top: one threshold
    # with precision 1/2 and recall 1 -> AP 0.5 (sklearn agrees).
    ap = average_precision(
        torch.tensor([[0.3], [0.3]]), torch.tensor([[1], [0]])
    )
    assert ap.item() == pytest.approx(0.5, abs=1e-12)
    assert average_precision_score([1, 0], [0.3, 0.3]) == pytest.approx(0.5)


def test_order_of_tied_rows_does_not_matter():
    scores, labels = _random_problem(11, n=64, c=4)
    scores = np.round(scores, 1)
    perm = np.random.default_rng(0).permutation(64)
    a = average_precision(torch.from_numpy(scores), torch.from_numpy(labels))
    b = average_precision(
        torch.from_numpy(scores[perm]), torch.from_numpy(labels[perm])
    )
    ok = ~torch.isnan(a)
    assert torch.equal(a[ok], b[ok])


def test_mean_ap_skips_nan_and_subsets():
    ap = torch.tensor([0.5, math.nan, 1.0, 0.25], dtype=torch.float64)
    assert mean_ap(ap) == pytest.approx((0.5 + 1.0 + 0.25) / 3)
    assert mean_ap(ap, [0, 1]) == pytest.approx(0.5)
    assert math.isnan(mean_ap(ap, [1]))
    assert math.isnan(mean_ap(ap, []))


def test_mean_ap_equals_sklearn_macro_when_all_have_positives():
    scores, labels = _random_problem(5, n=120, c=6, rate=0.3)
    labels[:, -1] = 0
    labels[1, -1] = 1
    ap = average_precision(torch.from_numpy(scores), torch.from_numpy(labels))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ref = average_precision_score(labels, scores, average='macro')
    assert mean_ap(ap) == pytest.approx(ref, abs=1e-9)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r'2-D tensor \[N, C\].*\(3,\)'):
        average_precision(torch.rand(3), torch.ones(3))
    with pytest.raises(
        ValueError,
        match=r'shape of scores \(3, 2\).*'
        r'\(3, 3\)',
    ):
        average_precision(torch.rand(3, 2), torch.ones(3, 3))
    with pytest.raises(ValueError, match='no video'):
        average_precision(torch.rand(0, 2), torch.ones(0, 2))
    s = torch.rand(4, 2)
    s[2, 1] = math.nan
    with pytest.raises(ValueError, match='1 NaN.*video 2, class 1'):
        average_precision(s, torch.ones(4, 2))
    y = torch.zeros(4, 2)
    y[3, 0] = 0.5
    with pytest.raises(ValueError, match=r'0/1.*0\.5 at video 3, class 0'):
        average_precision(torch.rand(4, 2), y)
    with pytest.raises(ValueError, match='chunk_elements must be >= 1'):
        average_precision(torch.rand(4, 2), torch.ones(4, 2), chunk_elements=0)
