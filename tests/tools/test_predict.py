"""``tools/predict.py``: predictions of new videos (issue 18, point 6).

The reference scores are computed independently of the tool: the config's
``test_dataloader`` built by mmengine's ``Runner.build_dataloader`` over a
list, batches through ``model.test_step`` (the path ``tools/test.py``
takes), against the tool's per-video ``inference_recognizer`` path.
"""

import argparse
import csv
import importlib.util
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from meid_datatools.synthetic import generate_synthetic_lt
from meid_mmaction.utils.compat import get_pred_score
from meid_mmaction.utils.data_keys import apply_data_keys

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
MEID = osp.join(REPO, 'configs', 'meid_synthetic.py')
VIDEO_CFG = osp.join(REPO, 'configs', 'meid_r50_videodataset_example.py')
NAMES = ['walk the dog', 'run', 'swim', 'jump', 'cook', 'read']


def _tool():
    spec = importlib.util.spec_from_file_location(
        'predict_tool', osp.join(REPO, 'tools', 'predict.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _options(opts):
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    return parser.parse_args(['--o', *opts]).o


def _cfg(config, opts):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(_options(opts))
    apply_data_keys(cfg)
    return cfg


def _save_random_model(cfg, path, dataset_meta=None):
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    meta = {} if dataset_meta is None else {'dataset_meta': dataset_meta}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return model.eval()


def _reference(model, loader_cfg, names=None):
    """``{video id: scores [C]}`` via the test dataloader + test_step
    (``names``: the ids in list order, for samples without ``video_id``)."""
    init_default_scope('mmaction')
    loader = Runner.build_dataloader(loader_cfg)
    out = {}
    with torch.no_grad():
        for batch in loader:
            for ds in model.test_step(batch):
                key = ds.metainfo.get('video_id') or names[len(out)]
                out[key] = get_pred_score(ds).numpy()
    return out


def _read_csv(path):
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.reader(f))


@pytest.fixture(scope='module')
def tiny(tmp_path_factory, tiny_cfg_options):
    root = str(tmp_path_factory.mktemp('predict'))
    data = osp.join(root, 'tiny')
    generate_synthetic_lt(data, preset='tiny', seed=0)
    # distinct class names (one with spaces) in the count file
    count_file = osp.join(data, 'count-labels-train.lst')
    with open(count_file) as f:
        counts = [line.split()[-1] for line in f if line.strip()]
    with open(count_file, 'w') as f:
        f.writelines(
            f'{n} {i} {c}\n' for i, (n, c) in enumerate(zip(NAMES, counts))
        )
    opts = tiny_cfg_options(data)
    cfg = _cfg(MEID, opts)
    ckpt = osp.join(root, 'meid.pth')
    model = _save_random_model(
        cfg, ckpt, dict(classes=[f'meta_{i}' for i in range(6)])
    )
    return dict(
        root=root, data=data, opts=opts, cfg=cfg, ckpt=ckpt, model=model
    )


def _predict(tiny, inp, out, *extra, opts=None):
    argv = [MEID, tiny['ckpt'], inp, '--out', out, '--device', 'cpu']
    argv += [*extra, '--cfg-options', *(opts or tiny['opts'])]
    return _tool().main(argv)


def test_list_file_matches_test_step_of_the_test_dataloader(tiny, tmp_path):
    out = str(tmp_path / 'out')
    test_list = osp.join(tiny['data'], 'test.lst')
    paths = _predict(tiny, test_list, out, '--topk', '3')
    ref = _reference(tiny['model'], tiny['cfg'].test_dataloader)
    with open(test_list) as f:
        ids = [line.split()[0] for line in f if line.strip()]
    with open(paths['ids']) as f:
        assert f.read().split() == ids
    scores = np.load(paths['scores'])
    assert scores.shape == (len(ids), 6) and scores.dtype == np.float32
    expect = np.stack([ref[v] for v in ids])
    np.testing.assert_allclose(scores, expect, rtol=1e-5, atol=1e-6)
    rows = _read_csv(paths['csv'])
    assert rows[0] == [
        'video_id', 'class_1', 'score_1', 'class_2', 'score_2',
        'class_3', 'score_3',
    ]  # fmt: skip
    for vid, row in zip(ids, rows[1:]):
        order = sorted(range(6), key=lambda c: -ref[vid][c])[:3]
        assert row[0] == vid
        assert row[1::2] == [NAMES[c] for c in order]
        np.testing.assert_allclose(
            [float(x) for x in row[2::2]], ref[vid][order], atol=1e-6
        )
    with open(paths['classes']) as f:
        assert f.read().splitlines() == NAMES


def test_folder_and_single_feature_file(tiny, tmp_path):
    folder = tmp_path / 'new_videos'
    folder.mkdir()
    feats = osp.join(tiny['data'], 'features')
    for vid in ('test_000003', 'test_000001'):
        shutil.copy(osp.join(feats, f'{vid}.npy'), folder / f'{vid}.npy')
    ref = _reference(tiny['model'], tiny['cfg'].test_dataloader)
    paths = _predict(tiny, str(folder), str(tmp_path / 'a'), '--topk', '1')
    with open(paths['ids']) as f:
        assert f.read().split() == ['test_000001', 'test_000003']
    scores = np.load(paths['scores'])
    np.testing.assert_allclose(scores[1], ref['test_000003'], atol=1e-6)
    rows = _read_csv(paths['csv'])
    assert len(rows[0]) == 3 and len(rows) == 3
    assert rows[1][1] == NAMES[int(np.argmax(ref['test_000001']))]
    one = str(folder / 'test_000003.npy')
    paths = _predict(tiny, one, str(tmp_path / 'b'), '--topk', '9')
    np.testing.assert_allclose(
        np.load(paths['scores'])[0], ref['test_000003'], atol=1e-6
    )
    # --topk above C: all classes
    assert len(_read_csv(paths['csv'])[0]) == 1 + 2 * 6


def test_class_names_without_count_file(tiny, tmp_path):
    feats = osp.join(tiny['data'], 'features', 'test_000000.npy')
    opts = tiny['opts'] + ['count_file=None']
    # the checkpoint's dataset_meta
    paths = _predict(tiny, feats, str(tmp_path / 'a'), opts=opts)
    with open(paths['classes']) as f:
        assert f.read().splitlines() == [f'meta_{i}' for i in range(6)]
    # a classes file
    classes = tmp_path / 'classes.txt'
    classes.write_text('\n'.join(f'k{i}' for i in range(6)) + '\n')
    paths = _predict(
        tiny, feats, str(tmp_path / 'b'), '--classes', str(classes), opts=opts
    )
    with open(paths['classes']) as f:
        assert f.read().splitlines() == [f'k{i}' for i in range(6)]
    classes.write_text('a\nb\n')
    with pytest.raises(ValueError, match=r'classes.txt: 2 class names, but'):
        _predict(tiny, feats, str(tmp_path / 'c'), '--classes', str(classes))


def test_bad_inputs_name_the_file(tiny, tmp_path):
    out = str(tmp_path / 'out')
    missing = str(tmp_path / 'nope.lst')
    with pytest.raises(FileNotFoundError, match=f'input not found: {missing}'):
        _predict(tiny, missing, out)
    bad_ext = tmp_path / 'scores.csv'
    bad_ext.write_text('x\n')
    with pytest.raises(
        ValueError,
        match=r"scores.csv: unknown input extension '.csv' .*"
        r'expected one of .npy, .lst, .txt',
    ):
        _predict(tiny, str(bad_ext), out)
    folder = tmp_path / 'folder'
    folder.mkdir()
    np.save(folder / 'v1.npy', np.zeros((10, 5), np.float32))
    with pytest.raises(
        ValueError,
        match=r"v1.npy: feature dim of video 'v1' is 5, expected feat_dim=8",
    ):
        _predict(tiny, str(folder), out)
    (folder / 'notes.md').write_text('x')
    with pytest.raises(ValueError, match=r'notes.md: not a feature file'):
        _predict(tiny, str(folder), out)
    lst = tmp_path / 'new.lst'
    lst.write_text('test_000000\nnot_there 1\n')
    with pytest.raises(
        FileNotFoundError, match=r"video 'not_there' not found: .*not_there"
    ):
        _predict(tiny, str(lst), out)
    lst.write_text('test_000000 1 2\n')
    with pytest.raises(ValueError, match=r'new.lst:1: expected "<video id>"'):
        _predict(tiny, str(lst), out)
    with pytest.raises(ValueError, match='--topk must be >= 1, got 0'):
        _predict(tiny, str(lst), out, '--topk', '0')


def test_checkpoint_of_another_model(tiny, tmp_path):
    cfg = _cfg(
        osp.join(REPO, 'configs', 'nonlinear_synthetic.py'), tiny['opts']
    )
    other = str(tmp_path / 'nonlinear.pth')
    _save_random_model(cfg, other)
    feats = osp.join(tiny['data'], 'features', 'test_000000.npy')
    argv = [MEID, other, feats, '--out', str(tmp_path / 'o')]
    with pytest.raises(
        ValueError, match=r'nonlinear.pth does not fit the model of the config'
    ):
        _tool().main([*argv, '--cfg-options', *tiny['opts']])


def test_raw_videos_recognizer2d(tmp_path):
    cv2 = pytest.importorskip('cv2')
    pytest.importorskip('decord')
    folder = tmp_path / 'videos'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for n in range(2):
        writer = cv2.VideoWriter(
            str(folder / f'v{n}.mp4'),
            cv2.VideoWriter_fourcc(*'mp4v'),
            10,
            (64, 48),
        )
        for _ in range(12):
            writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
        writer.release()
    opts = [
        'model.backbone.depth=18',
        'model.cls_head.num_classes=4',
        'model.cls_head.in_channels=512',
        'model.cls_head.hidden_channels=16',
        'test_dataloader.dataset.pipeline.3.scale=(-1,40)',
        # three views per video: MEIDHead scores each view
        # (frames_per_view=8) and averages them
        'test_dataloader.dataset.pipeline.4.type=ThreeCrop',
        'test_dataloader.dataset.pipeline.4.crop_size=40',
        f'test_dataloader.dataset.data_prefix.video={folder}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'test_dataloader.batch_size=2',
    ]
    cfg = _cfg(VIDEO_CFG, opts)
    ckpt = str(tmp_path / 'r18.pth')
    model = _save_random_model(cfg, ckpt)
    ann = tmp_path / 'videos.txt'
    ann.write_text('v0.mp4 0\nv1.mp4 3\n')
    cfg.test_dataloader.dataset.ann_file = str(ann)
    ref = _reference(model, cfg.test_dataloader, ['v0.mp4', 'v1.mp4'])
    tool = _tool()
    for inp in (str(folder), str(ann)):
        argv = [VIDEO_CFG, ckpt, inp, '--out', str(tmp_path / 'o')]
        paths = tool.main([*argv, '--topk', '2', '--cfg-options', *opts])
        scores = np.load(paths['scores'])
        np.testing.assert_allclose(
            scores, np.stack([ref['v0.mp4'], ref['v1.mp4']]), atol=1e-5
        )
        rows = _read_csv(paths['csv'])
        assert [r[0] for r in rows[1:]] == ['v0.mp4', 'v1.mp4']
        top = int(np.argmax(ref['v1.mp4']))
        assert rows[2][1] == f'class_{top}'
    np.save(tmp_path / 'x.npy', np.zeros(3))
    with pytest.raises(ValueError, match=r'x.npy: unknown input extension'):
        tool.main([VIDEO_CFG, ckpt, str(tmp_path / 'x.npy')])
    # the tools' multi-view check: views without frames_per_view
    no_fpv = [*opts, 'model.cls_head.frames_per_view=None']
    with pytest.raises(ValueError, match='ThreeCrop makes 3 crops'):
        tool.main([VIDEO_CFG, ckpt, str(folder), '--cfg-options', *no_fpv])
