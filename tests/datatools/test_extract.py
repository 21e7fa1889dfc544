import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from meid_datatools.extract import (
    FrameExtractor,
    build_backbone,
    find_videos,
    normalisation_from_config,
    read_video_frames,
    resize_crop,
    uniform_frame_indices,
)
from meid_mmaction.datasets.packed_store import PackedFeatureStore

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
CONFIG = f"""
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=18, pretrained=None,
                  norm_eval=False),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean={MEAN},
                           std={STD}, format_shape='NCHW'))
"""


def _load_cli():
    path = osp.join(
        osp.dirname(__file__),
        '..',
        '..',
        'tools',
        'data',
        'extract_features.py',
    )
    spec = importlib.util.spec_from_file_location('extract_cli', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_video(path, num_frames, size=(64, 48)):
    """MJPG .avi; frame i is uniform (R, G, B) = (12 i, 100, 200 - 9 i)."""
    w, h = size
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (w, h)
    )
    assert writer.isOpened()
    for i in range(num_frames):
        rgb = np.empty((h, w, 3), np.uint8)
        rgb[..., 0], rgb[..., 1], rgb[..., 2] = 12 * i, 100, 200 - 9 * i
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()


@pytest.fixture
def videos(tmp_path):
    vdir = tmp_path / 'videos'
    vdir.mkdir()
    for vid, n in (('clip_a', 13), ('clip_b', 7), ('clip_c', 20)):
        _write_video(vdir / f'{vid}.avi', n)
    (vdir / 'broken.avi').write_bytes(b'not a video at all' * 50)
    (vdir / 'notes.txt').write_text('ignored')
    return vdir


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    """A config and a recognizer-style checkpoint of a random ResNet-18."""
    tmp_path = tmp_path_factory.mktemp('model')
    cfg_path = tmp_path / 'resnet18_cfg.py'
    cfg_path.write_text(CONFIG)
    cfg = Config.fromfile(str(cfg_path))
    torch.manual_seed(0)
    backbone = build_backbone(cfg, random_init=True)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state['cls_head.fc_cls.weight'] = torch.zeros(3, 512)
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), str(ckpt))
    return str(cfg_path), str(ckpt), backbone


def test_uniform_frame_indices():
    np.testing.assert_array_equal(uniform_frame_indices(13, 4), [1, 4, 8, 11])
    np.testing.assert_array_equal(uniform_frame_indices(3, 5), [0, 0, 1, 2, 2])
    np.testing.assert_array_equal(
        uniform_frame_indices(150, 150), np.arange(150)
    )
    with pytest.raises(ValueError, match=r'video has no frame \(total=0\)'):
        uniform_frame_indices(0, 4)


@pytest.mark.parametrize('backend', ['decord', 'opencv', 'auto'])
def test_read_video_frames(videos, backend):
    frames, used = read_video_frames(str(videos / 'clip_a.avi'), 4, backend)
    assert used == ('decord' if backend == 'auto' else backend)
    assert frames.shape == (4, 48, 64, 3) and frames.dtype == np.uint8
    idx = np.array([1, 4, 8, 11])  # uniform_frame_indices(13, 4)
    expected = np.stack([12 * idx, np.full(4, 100), 200 - 9 * idx], 1)
    # MJPG is lossy: a few grey levels
    np.testing.assert_allclose(frames.mean(axis=(1, 2)), expected, atol=4)


def test_read_video_errors(videos):
    with pytest.raises(
        ValueError,
        match=r'broken\.avi: cannot read the '
        r'video \(decord: .*; opencv: .*\)',
    ):
        read_video_frames(str(videos / 'broken.avi'), 4)
    with pytest.raises(FileNotFoundError, match=r'video not found: .*nope'):
        read_video_frames(str(videos / 'nope.avi'), 4)
    with pytest.raises(
        ValueError,
        match=r"backend must be 'auto', 'decord' "
        r"or 'opencv', got 'pyav'",
    ):
        read_video_frames(str(videos / 'clip_a.avi'), 4, 'pyav')


def test_resize_crop_matches_cv2():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 48, 64, 3), dtype=np.uint8)
    out = resize_crop(frames, 40, 32)
    assert out.shape == (2, 32, 32, 3)
    ref = cv2.resize(frames[1], (53, 40), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out[1], ref[4:36, 10:42])
    with pytest.raises(
        ValueError,
        match=r'short_side \(20\) must be >= '
        r'crop_size \(32\)',
    ):
        resize_crop(frames, 20, 32)


def test_normalisation_from_config(model_files):
    cfg = Config.fromfile(model_files[0])
    assert normalisation_from_config(cfg) == dict(
        mean=MEAN, std=STD, to_rgb=False
    )
    assert normalisation_from_config(cfg, [1, 2, 3], [4, 5, 6])['mean'] == [
        1.0,
        2.0,
        3.0,
    ]
    cfg.model.data_preprocessor = dict(type='ActionDataPreprocessor')
    with pytest.raises(
        ValueError,
        match=r'resnet18_cfg\.py: model\.data_'
        r'preprocessor has no mean/std; pass --mean and '
        r'--std',
    ):
        normalisation_from_config(cfg)


def test_build_backbone_weights(model_files, tmp_path):
    cfg_path, ckpt, ref = model_files
    cfg = Config.fromfile(cfg_path)
    loaded = build_backbone(cfg, ckpt)
    for k, v in ref.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    with pytest.raises(
        ValueError,
        match=r'resnet18_cfg\.py: no --checkpoint'
        r' and the backbone has no pretrained/init_cfg',
    ):
        build_backbone(cfg)
    bad = tmp_path / 'bad.pth'
    torch.save(
        dict(state_dict={'backbone.conv1.conv.weight': torch.zeros(1)}),
        str(bad),
    )
    with pytest.raises(
        ValueError,
        match=r'bad\.pth: weights do not match '
        r'the backbone of .*resnet18_cfg\.py: .*missing '
        r'keys in source state_dict: conv1\.bn\.weight',
    ):
        build_backbone(cfg, str(bad))
    cfg.model.pop('backbone')
    with pytest.raises(
        ValueError,
        match=r'resnet18_cfg\.py: no model.'
        r'backbone in the config',
    ):
        build_backbone(cfg)


def test_frame_extractor_pools_and_normalises(model_files):
    backbone = model_files[2]
    ext = FrameExtractor(backbone, MEAN, STD)
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(
        1, 3, 1, 1
    )
    with torch.no_grad():
        ref = backbone(x).mean(dim=(2, 3)).numpy()
    got = ext(frames)
    assert got.shape == (3, 512) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)

    class Conv3d(torch.nn.Module):
        def forward(self, x):
            return x[:, :, None]

    with pytest.raises(
        ValueError,
        match=r'the backbone returned shape '
        r'\(3, 3, 1, 32, 32\) .* expected a 2D backbone',
    ):
        FrameExtractor(Conv3d(), MEAN, STD)(frames)


def test_find_videos(videos, tmp_path):
    pairs = find_videos(str(videos))
    assert [p[0] for p in pairs] == ['broken', 'clip_a', 'clip_b', 'clip_c']
    ann = tmp_path / 'list.lst'
    ann.write_text('clip_b 0\nmissing 1\n')
    assert find_videos(str(videos), [str(ann)]) == [
        ('clip_b', str(videos / 'clip_b.avi')),
        ('missing', str(videos / 'missing.mp4')),
    ]
    with pytest.raises(FileNotFoundError, match='video directory not found'):
        find_videos(str(tmp_path / 'none'))


def _run(cli, args):
    return cli.main(args + ['--no-progress', '--workers', '0'])


def test_cli_npy_then_packed(videos, model_files, tmp_path, capsys):
    cfg_path, ckpt, backbone = model_files
    cli = _load_cli()
    out = tmp_path / 'feats'
    common = [
        cfg_path,
        ckpt,
        str(videos),
        str(out),
        '--num-frames',
        '4',
        '--short-side',
        '40',
        '--crop-size',
        '32',
        '--device',
        'cpu',
        '--batch-videos',
        '2',
    ]
    assert _run(cli, common) == 1  # broken.avi failed
    report = json.load(open(out / 'extract_report.json'))
    assert report['extracted'] == 3 and report['skipped_done'] == 0
    assert [f['video_id'] for f in report['failed']] == ['broken']
    assert 'cannot read the video' in report['failed'][0]['error']
    assert 'FAILED broken:' in capsys.readouterr().err
    # the features are the pooled backbone output of the sampled frames
    ext = FrameExtractor(backbone, MEAN, STD)
    for vid in ('clip_a', 'clip_b', 'clip_c'):
        frames, _ = read_video_frames(str(videos / f'{vid}.avi'), 4)
        ref = ext(resize_crop(frames, 40, 32))
        got = np.load(out / f'{vid}.npy')
        assert got.shape == (4, 512) and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    assert not (out / 'broken.npy').exists()
    # resume: finished videos are skipped, the failure is reported again
    assert _run(cli, common + ['--allow-failures']) == 0
    report = json.load(open(out / 'extract_report.json'))
    assert report['skipped_done'] == 3 and report['extracted'] == 0
    assert len(report['failed']) == 1

    packed = tmp_path / 'packed'
    args = [
        cfg_path,
        ckpt,
        str(videos),
        str(packed),
        '--num-frames',
        '4',
        '--short-side',
        '40',
        '--crop-size',
        '32',
        '--device',
        'cpu',
        '--out-format',
        'packed',
        '--dtype',
        'float16',
        '--allow-failures',
    ]
    assert cli.main(args + ['--no-progress', '--workers', '1']) == 0
    store = PackedFeatureStore(str(packed))
    assert sorted(store.video_ids) == ['clip_a', 'clip_b', 'clip_c']
    for vid in store.video_ids:
        np.testing.assert_allclose(
            store.open(vid), np.load(out / f'{vid}.npy'), rtol=2e-3, atol=1e-3
        )
    assert _run(cli, args) == 0
    assert json.load(open(packed / 'extract_report.json'))['skipped_done'] == 3
