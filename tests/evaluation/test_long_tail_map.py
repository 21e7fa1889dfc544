import csv
import math
import os
import uuid

import numpy as np
import pytest
import torch
from mmaction.registry import METRICS
from mmaction.structures import ActionDataSample
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from sklearn.metrics import average_precision_score

from meid_mmaction.datasets.annotations import read_train_labels
from meid_mmaction.evaluation.metrics import LongTailMAP
from meid_mmaction.evaluation.metrics.long_tail_map import topk_hits
from meid_mmaction.utils.compat import set_gt_label, set_pred_score

# 4 classes, 5 videos. Training counts 20 / 5 / 2 / 1 with head_thr=10,
# tail_thr=3: head [0], medium [1], tail [2, 3]. Class 3 has no positive.
SCORES = [
    [0.9, 0.1, 0.3, 0.2],
    [0.8, 0.7, 0.2, 0.1],
    [0.2, 0.6, 0.9, 0.3],
    [0.1, 0.2, 0.25, 0.5],
    [0.3, 0.9, 0.1, 0.4],
]
LABELS = [[0], [1], [0, 2], [2], [1]]
# Hand-computed: class 0 ranks + - - + -: (1 + 2/4) / 2; class 1 ranks
# + + - - -: 1; class 2 ranks + - + - -: (1 + 2/3) / 2.
AP = [0.75, 1.0, 5 / 6]
COUNT_LINES = ['walking the dog 0 20', 'run 1 5', 'swim 2 2', 'jump 3 1']


def _multi_hot(label, c=4):
    out = torch.zeros(c)
    out[label] = 1.0
    return out


def _samples(scores=SCORES, labels=LABELS, single_label=False):
    out = []
    for s, y in zip(scores, labels):
        d = ActionDataSample()
        set_pred_score(d, torch.tensor(s))
        if single_label:
            set_gt_label(d, torch.tensor([y], dtype=torch.long))
        else:
            set_gt_label(d, _multi_hot(y, len(s)))
        out.append(d)
    return out


@pytest.fixture
def count_file(tmp_path):
    path = tmp_path / 'counts.lst'
    path.write_text('\n'.join(COUNT_LINES) + '\n')
    return str(path)


def _run(metric, samples, batch=2):
    for i in range(0, len(samples), batch):
        metric.process({}, samples[i : i + batch])
    return metric.compute_metrics(metric.results)


def test_end_to_end_hand_computed(count_file):
    metric = LongTailMAP(
        count_file=count_file, head_thr=10, tail_thr=3, topk=(1, 2)
    )
    res = _run(metric, _samples())
    assert list(res) == [
        'mAP',
        'mAP_head',
        'mAP_medium',
        'mAP_tail',
        'num_classes_without_positives',
        'top1',
        'top2',
    ]
    assert res['mAP'] == pytest.approx(sum(AP) / 3, abs=1e-12)
    assert res['mAP_head'] == pytest.approx(0.75, abs=1e-12)
    assert res['mAP_medium'] == pytest.approx(1.0, abs=1e-12)
    assert res['mAP_tail'] == pytest.approx(5 / 6, abs=1e-12)
    assert res['num_classes_without_positives'] == 1
    # top-1 predictions 0, 0, 2, 3, 1 -> hits on videos 0, 2, 4
    assert res['top1'] == pytest.approx(3 / 5)
    assert res['top2'] == pytest.approx(1.0)
    # per class, the same as scikit-learn
    y = np.array([_multi_hot(lab).numpy() for lab in LABELS])
    s = np.array(SCORES)
    for c in range(3):
        assert AP[c] == pytest.approx(
            average_precision_score(y[:, c], s[:, c])
        )


def test_topk_hits_ties_go_to_lower_class_index():
    scores = torch.tensor([[0.5, 0.5, 0.5, 0.1], [0.2, 0.9, 0.2, 0.2]])
    positive = torch.tensor(
        [[False, False, True, False], [False, False, True, False]]
    )
    # video 0: three-way tie, classes 0 and 1 fill the top 2 -> no hit;
    # video 1: class 1, then the tie 0 / 2 / 3 gives class 0 -> no hit.
    assert topk_hits(scores, positive, 2).tolist() == [False, False]
    assert topk_hits(scores, positive, 3).tolist() == [True, True]
    # random heavy ties against a stable-sort reference
    g = torch.Generator().manual_seed(0)
    s = torch.randint(0, 3, (50, 7), generator=g).float()
    y = torch.rand(50, 7, generator=g) < 0.3
    order = torch.sort(s, dim=1, descending=True, stable=True).indices
    for k in range(1, 8):
        ref = torch.gather(y, 1, order)[:, :k].any(dim=1)
        assert torch.equal(topk_hits(s, y, k), ref)


def test_single_label_int_labels_video_dataset_style(count_file):
    labels = [0, 1, 2, 2, 1]
    metric = LongTailMAP(
        count_file=count_file, head_thr=10, tail_thr=3, topk=(1,)
    )
    res = _run(metric, _samples(labels=labels, single_label=True))
    ref = LongTailMAP(
        count_file=count_file, head_thr=10, tail_thr=3, topk=(1,)
    )
    res_ref = _run(ref, _samples(labels=[[c] for c in labels]))
    assert res == res_ref
    # class 0 ranks + - - - -: 1; class 1: + + - - -; class 2: + - + - -
    assert res['mAP'] == pytest.approx((1 + 1 + 5 / 6) / 3)
    assert res['top1'] == pytest.approx(3 / 5)


def test_groups_from_dataset_meta_and_registry():
    metric = METRICS.build(dict(type='LongTailMAP', topk=(1,)))
    metric.dataset_meta = dict(
        classes=('a', 'b', 'c', 'd'),
        class_counts=(20, 5, 2, 1),
        group_thresholds=(10, 3),
        # deliberately not the split of the counts: class_groups wins
        class_groups=dict(head=[0, 1], medium=[], tail=[2, 3]),
    )
    res = _run(metric, _samples())
    assert res['mAP_head'] == pytest.approx((0.75 + 1.0) / 2)
    assert math.isnan(res['mAP_medium'])
    assert res['mAP_tail'] == pytest.approx(5 / 6)
    # explicit thresholds re-split the published counts
    metric = LongTailMAP(head_thr=4, tail_thr=1, topk=(1,))
    metric.dataset_meta = dict(class_counts=(20, 5, 2, 1))
    res = _run(metric, _samples())
    assert res['mAP_head'] == pytest.approx((0.75 + 1.0) / 2)
    assert res['mAP_medium'] == pytest.approx(5 / 6)
    assert math.isnan(res['mAP_tail'])


def test_train_ann_file_formats(tmp_path):
    videolt = tmp_path / 'train.lst'
    videolt.write_text('v1 0,1\nv2 0\n\nv3 0,2\n')
    mma = tmp_path / 'train_mma.txt'
    mma.write_text('a.mp4 0 1\nb.mp4 0\nc.mp4 2 0\n')
    raw = tmp_path / 'train_raw.txt'
    raw.write_text('dir_a 300 0 1\ndir_b 120 0\ndir_c 64 0 2\n')
    expected = [[0, 1], [0], [0, 2]]
    assert read_train_labels(str(videolt), 'auto', 4) == expected
    assert read_train_labels(str(videolt), 'videolt', 4) == expected
    assert read_train_labels(str(mma), 'auto', 4) == expected
    assert read_train_labels(str(mma), 'video', 4) == expected
    assert read_train_labels(str(raw), 'rawframe', 4) == expected
    with pytest.raises(
        ValueError,
        match=r'train_raw\.txt:1: label 300 is outside '
        r"\[0, 4\).*train_ann_format='rawframe'",
    ):
        read_train_labels(str(raw), 'auto', 4)
    with pytest.raises(FileNotFoundError, match='missing.lst'):
        read_train_labels(str(tmp_path / 'missing.lst'))
    with pytest.raises(ValueError, match="must be one of.*got 'csv'"):
        read_train_labels(str(mma), 'csv')
    bad = tmp_path / 'bad.txt'
    bad.write_text('a.mp4 0 x\n')
    with pytest.raises(
        ValueError,
        match=r'bad\.txt:1: labels must be '
        r"integers.*'x'",
    ):
        read_train_labels(str(bad), 'video')
    # counts 3 / 1 / 1 / 0 with head_thr=2, tail_thr=0: head [0],
    # medium [1, 2], tail [3] (no positive at test time)
    metric = LongTailMAP(
        train_ann_file=str(mma),
        num_classes=4,
        head_thr=2,
        tail_thr=0,
        topk=(1,),
    )
    res = _run(metric, _samples())
    assert res['mAP_head'] == pytest.approx(0.75)
    assert res['mAP_medium'] == pytest.approx((1 + 5 / 6) / 2)
    assert math.isnan(res['mAP_tail'])


def test_per_class_csv(tmp_path, count_file):
    out = tmp_path / 'sub' / 'ap.csv'
    metric = LongTailMAP(
        count_file=count_file,
        head_thr=10,
        tail_thr=3,
        per_class_ap_file=str(out),
        topk=(1,),
    )
    _run(metric, _samples())
    with open(out, newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        'class_index',
        'class_name',
        'train_count',
        'group',
        'num_test_positives',
        'ap',
    ]
    assert rows[1][:5] == ['0', 'walking the dog', '20', 'head', '2']
    assert rows[2][:5] == ['1', 'run', '5', 'medium', '2']
    assert rows[3][:5] == ['2', 'swim', '2', 'tail', '2']
    assert rows[4] == ['3', 'jump', '1', 'tail', '0', '']
    assert [float(r[5]) for r in rows[1:4]] == pytest.approx(AP, abs=1e-12)


def test_relative_csv_path_without_runner_goes_to_cwd(
    tmp_path, count_file, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    # a runner built by an earlier test leaves its logger (with a log file)
    # as the current instance: make the current one a runner-less logger
    MMLogger.get_instance(f'no-runner-{uuid.uuid4().hex}')
    metric = LongTailMAP(
        count_file=count_file,
        head_thr=10,
        tail_thr=3,
        per_class_ap_file='ap.csv',
        topk=(1,),
    )
    _run(metric, _samples())
    assert (tmp_path / 'ap.csv').is_file()


def test_through_mmengine_evaluator_prefix_and_key_order(count_file):
    # Evaluator passes data_sample.to_dict() to the metric (LabelData
    # fields become {'item': tensor} under MMAction2 1.1).
    evaluator = Evaluator(
        dict(
            type='LongTailMAP',
            _scope_='mmaction',
            count_file=count_file,
            head_thr=10,
            tail_thr=3,
            topk=(1, 2),
        )
    )
    evaluator.process(_samples()[:3])
    evaluator.process(_samples()[3:])
    res = evaluator.evaluate(5)
    assert list(res)[0] == 'lt/mAP'
    assert res['lt/mAP'] == pytest.approx(sum(AP) / 3)
    assert res['lt/top1'] == pytest.approx(3 / 5)


def _random_samples(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.round(torch.rand(n, c, generator=g), decimals=1)
    labels = (torch.rand(n, c, generator=g) < 0.3).float()
    return _samples(
        scores.tolist(), [torch.nonzero(y).flatten().tolist() for y in labels]
    )


def _sklearn_reference(samples, groups, topk):
    """mAP per group with scikit-learn and top-k hits with a stable sort
    (ties to the lower class index), from the raw scores and labels."""
    from meid_mmaction.utils.compat import get_gt_label, get_pred_score

    s = np.array([get_pred_score(d).numpy() for d in samples])
    y = np.array([get_gt_label(d).numpy() for d in samples]) > 0
    ap = {
        k: average_precision_score(y[:, k], s[:, k])
        for k in range(s.shape[1])
        if y[:, k].any()
    }
    out = {'mAP': np.mean(list(ap.values()))}
    for g, idx in groups.items():
        out[f'mAP_{g}'] = np.mean([ap[k] for k in idx if k in ap])
    order = np.argsort(-s, axis=1, kind='stable')
    labelled = y.any(axis=1)
    for k in topk:
        hit = np.take_along_axis(y, order[:, :k], axis=1).any(axis=1)
        out[f'top{k}'] = hit[labelled].mean()
    return out


def test_result_order_does_not_matter_and_matches_sklearn():
    """Gathered results arrive in rank order, not input order: any order
    gives the scikit-learn values of the whole set."""
    n, c = 11, 6
    meta = dict(class_counts=(9, 8, 5, 4, 2, 1), group_thresholds=(6, 2))
    samples = _random_samples(n, c, seed=3)
    expected = _sklearn_reference(
        samples, dict(head=[0, 1], medium=[2, 3], tail=[4, 5]), (1, 3)
    )
    metric = LongTailMAP(topk=(1, 3))
    metric.dataset_meta = meta
    for sample in samples:
        metric.process({}, [sample])
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(n)
        merged = LongTailMAP(topk=(1, 3))
        merged.dataset_meta = meta
        res = merged.compute_metrics([metric.results[i] for i in perm])
        for key, value in expected.items():
            assert res[key] == pytest.approx(value, abs=1e-12), key


def _dist_worker(rank, n, c, meta, out_dir):
    import torch.distributed as tdist
    from mmengine.dist import get_rank

    import meid_mmaction  # noqa: F401
    from meid_mmaction.evaluation.metrics import LongTailMAP as Metric

    # a file rendezvous: no TCP port that another process could take
    tdist.init_process_group(
        'gloo',
        init_method=f'file://{os.path.join(out_dir, "rendezvous")}',
        rank=rank,
        world_size=2,
    )
    try:
        samples = _random_samples(n, c, seed=3)
        indices = (list(range(n)) + [0])[rank::2]
        metric = Metric(topk=(1, 3))
        metric.dataset_meta = meta
        for i in range(0, len(indices), 2):
            metric.process({}, [samples[j] for j in indices[i : i + 2]])
        res = metric.evaluate(n)
        torch.save(res, os.path.join(out_dir, f'rank{get_rank()}.pt'))
    finally:
        tdist.destroy_process_group()


def test_two_ranks_gloo_equals_single_process(tmp_path, spawn):
    n, c = 11, 6
    meta = dict(class_counts=(9, 8, 5, 4, 2, 1), group_thresholds=(6, 2))
    single = LongTailMAP(topk=(1, 3))
    single.dataset_meta = meta
    expected = {
        f'lt/{k}': v for k, v in _run(single, _random_samples(n, c, 3)).items()
    }
    spawn(_dist_worker, args=(n, c, meta, str(tmp_path)), nprocs=2)
    for r in range(2):  # rank 0 computes, every rank gets the broadcast
        assert torch.load(tmp_path / f'rank{r}.pt') == expected


def test_error_score_width_differs_from_grouping(count_file):
    metric = LongTailMAP(
        count_file=count_file, head_thr=10, tail_thr=3, topk=(1,)
    )
    with pytest.raises(
        ValueError,
        match=r'prediction scores have 5 classes '
        r'but the class grouping \(count file .*counts\.lst'
        r'\) has 4',
    ):
        metric.process({}, _samples(scores=[[0.1] * 5], labels=[[0]]))


def test_error_count_file_disagrees_with_num_classes(count_file):
    metric = LongTailMAP(
        count_file=count_file, num_classes=5, head_thr=10, tail_thr=3
    )
    with pytest.raises(
        ValueError,
        match=r'counts\.lst: the count file lists '
        r'4 classes but num_classes=5',
    ):
        metric.process({}, _samples(scores=[[0.1] * 5], labels=[[0]]))
    with pytest.raises(FileNotFoundError, match='count_file not found'):
        LongTailMAP(
            count_file=count_file + '.missing', head_thr=10, tail_thr=3
        ).process({}, _samples()[:1])


def test_error_missing_thresholds(count_file):
    metric = LongTailMAP(count_file=count_file)
    with pytest.raises(
        ValueError, match='needs head_thr and tail_thr.*not in dataset_meta'
    ):
        metric.process({}, _samples()[:1])
    metric = LongTailMAP()
    metric.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
    with pytest.raises(
        ValueError,
        match=r'no class counts.*keys: '
        r"\['classes'\]",
    ):
        metric.process({}, _samples()[:1])
    with pytest.raises(ValueError, match='given together.*tail_thr=None'):
        LongTailMAP(head_thr=10)
    with pytest.raises(ValueError, match='tail_thr < head_thr.*head_thr=3'):
        LongTailMAP(head_thr=3, tail_thr=3)


def test_error_labels_outside_range(count_file):
    metric = LongTailMAP(
        count_file=count_file, head_thr=10, tail_thr=3, topk=(1,)
    )
    sample = _samples(labels=[0], single_label=True)[0]
    set_gt_label(sample, torch.tensor([7]))
    sample.set_metainfo(dict(filename='vid7.mp4'))
    with pytest.raises(
        ValueError,
        match=r"filename='vid7\.mp4'.*label \[7\] "
        r'is outside \[0, 4\)',
    ):
        metric.process({}, [sample])


def test_error_bad_arguments_and_scores(count_file):
    with pytest.raises(
        ValueError, match="train_ann_format must be one of.*'tsv'"
    ):
        LongTailMAP(train_ann_format='tsv')
    with pytest.raises(ValueError, match='topk must be positive ints'):
        LongTailMAP(topk=(0,))
    with pytest.raises(
        ValueError, match='num_classes must be a positive int, got -1'
    ):
        LongTailMAP(num_classes=-1)
    metric = LongTailMAP(count_file=count_file, head_thr=10, tail_thr=3)
    with pytest.raises(
        ValueError,
        match=r'topk=\(1, 5\) asks for more '
        'classes than the 4 scored',
    ):
        metric.process({}, _samples()[:1])
    metric = LongTailMAP(
        count_file=count_file, head_thr=10, tail_thr=3, topk=(1,)
    )
    sample = _samples()[0]
    set_pred_score(sample, torch.zeros(2, 4))
    with pytest.raises(
        ValueError,
        match=r'batch position 0 has shape '
        r'\(2, 4\); expected \[C\]',
    ):
        metric.process({}, [sample])
    sample = _samples()[0]
    set_gt_label(sample, torch.tensor([0.5, 0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match='not 0/1 multi-hot'):
        metric.process({}, [sample])
    with pytest.raises(ValueError, match='got no results'):
        metric.compute_metrics([])


def _fresh_logger():
    # an earlier test's runner may leave its logger (with a log file) as
    # the current instance
    return MMLogger.get_instance(f'no-runner-{uuid.uuid4().hex}')


def test_one_csv_per_evaluation_never_overwritten(tmp_path, count_file):
    _fresh_logger()
    metric = LongTailMAP(
        count_file=count_file, head_thr=10, tail_thr=3, topk=(1,)
    )
    metric.set_eval_context(split='val', tag='epoch_1', out_dir=str(tmp_path))
    _run(metric, _samples())
    first = metric.last_per_class_file
    assert first == str(tmp_path / 'per_class_ap_val_epoch_1.csv')
    metric.set_eval_context(split='val', tag='epoch_2', out_dir=str(tmp_path))
    _run(metric, _samples())
    assert metric.last_per_class_file == str(
        tmp_path / 'per_class_ap_val_epoch_2.csv'
    )
    # the same split and tag again: a new file, the first one untouched
    before = open(first).read()
    metric.set_eval_context(split='val', tag='epoch_1', out_dir=str(tmp_path))
    _run(metric, _samples())
    assert metric.last_per_class_file == str(
        tmp_path / 'per_class_ap_val_epoch_1_1.csv'
    )
    assert open(first).read() == before
    assert len(list(tmp_path.glob('per_class_ap_*.csv'))) == 3


def test_default_csv_needs_a_run_directory(tmp_path, count_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _fresh_logger()
    metric = LongTailMAP(
        count_file=count_file, head_thr=10, tail_thr=3, topk=(1,)
    )
    _run(metric, _samples())  # plain Python use: no file in the cwd
    assert metric.last_per_class_file is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ['counts.lst']
    metric = LongTailMAP(
        count_file=count_file,
        head_thr=10,
        tail_thr=3,
        topk=(1,),
        out_dir=str(tmp_path / 'out'),
    )
    _run(metric, _samples())  # no hook: split 'eval', no tag
    assert metric.last_per_class_file == str(
        tmp_path / 'out' / 'per_class_ap_eval.csv'
    )
    metric = LongTailMAP(
        count_file=count_file,
        head_thr=10,
        tail_thr=3,
        topk=(1,),
        save_per_class_ap=False,
        out_dir=str(tmp_path / 'none'),
    )
    _run(metric, _samples())
    assert not (tmp_path / 'none').exists()
    with pytest.raises(
        ValueError,
        match=r'only the fields \{split\} and '
        r'\{tag\}',
    ):
        _run(
            LongTailMAP(
                count_file=count_file,
                head_thr=10,
                tail_thr=3,
                topk=(1,),
                per_class_ap_file='{epoch}.csv',
            ),
            _samples(),
        )


def test_markdown_table_and_empty_group_warning(count_file, capsys):
    logger = _fresh_logger()
    # head_thr=30: no class has more than 30 training videos
    metric = LongTailMAP(
        count_file=count_file,
        head_thr=30,
        tail_thr=3,
        topk=(1,),
        save_per_class_ap=False,
    )
    metric.set_eval_context(split='val', tag='epoch_1')
    res = _run(metric, _samples())
    assert math.isnan(res['mAP_head'])
    out = capsys.readouterr().out
    assert (
        'the head group has no class (head_thr=30, tail_thr=3), so '
        'mAP_head is undefined'
    ) in out
    assert "LongTailMAP of split 'val' on 5 videos" in out
    assert (
        '| group  | classes | evaluated | no positive | mAP    |\n'
        '|--------|--------:|----------:|------------:|-------:|\n'
        '| all    |       4 |         3 |           1 | 0.8611 |\n'
        '| head   |       0 |         0 |           0 |    n/a |\n'
        '| medium |       2 |         2 |           0 | 0.8750 |\n'
        '| tail   |       2 |         1 |           1 | 0.8333 |'
    ) in out
    _run(metric, _samples())  # warned once per metric
    assert 'the head group' not in capsys.readouterr().out
    del logger


def test_calculate_doctest_and_sklearn():
    """The static computation: its doctest, and per-group mAP / top-k
    against scikit-learn and a hand count."""
    import doctest

    import meid_mmaction.evaluation.metrics.long_tail_map as ltm_module

    result = doctest.testmod(ltm_module)
    assert result.attempted > 0 and result.failed == 0

    scores = torch.tensor(
        [[0.9, 0.2, 0.1, 0.5], [0.8, 0.7, 0.3, 0.1], [0.1, 0.6, 0.8, 0.2]]
    )
    labels = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0]])
    groups = {'head': [0, 1], 'medium': [], 'tail': [2, 3]}
    m = LongTailMAP.calculate(scores, labels, groups, topk=(1, 2))
    ap = [
        average_precision_score(labels[:, c].numpy(), scores[:, c].numpy())
        for c in range(3)
    ]
    assert list(m) == [
        'mAP',
        'mAP_head',
        'mAP_medium',
        'mAP_tail',
        'num_classes_without_positives',
        'top1',
        'top2',
    ]
    assert m['mAP'] == pytest.approx(sum(ap) / 3)
    assert m['mAP_head'] == pytest.approx((ap[0] + ap[1]) / 2)
    assert math.isnan(m['mAP_medium'])
    assert m['mAP_tail'] == pytest.approx(ap[2])
    assert m['num_classes_without_positives'] == 1
    # top-1 classes 0, 0, 2 all hit; top-2 as well
    assert m['top1'] == 1.0 and m['top2'] == 1.0
