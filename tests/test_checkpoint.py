"""Loading mmengine checkpoints with ``weights_only=True`` (torch >= 2.6)."""

import argparse
import functools
import pickle
import re
import warnings

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

import meid_mmaction  # noqa: F401  (registers the checkpoint loader)
from meid_mmaction.utils import checkpoint as ckpt_mod
from meid_mmaction.utils.checkpoint import (
    CheckpointReadError,
    check_resume_checkpoint,
    find_resume_checkpoint,
    history_buffer_getattr,
    load_checkpoint_file,
)

pytestmark = pytest.mark.skipif(
    not hasattr(torch.serialization, 'safe_globals'),
    reason='torch < 2.5 has no scoped weights_only allow-list',
)


class Intruder:
    """A class that is not on the allow-list."""

    def __init__(self, value):
        self.value = value


class OrderedSubclass(dict):
    pass


class GetattrReducer:
    """Pickles as ``getattr(np.ndarray, 'tofile')``."""

    def __reduce__(self):
        return getattr, (np.ndarray, 'tofile')


class HistoryBufferReducer:
    """Pickles as ``getattr(HistoryBuffer, 'register_statistics')``."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, 'register_statistics')


def _qualname(cls) -> str:
    return f'{cls.__module__}.{cls.__qualname__}'


def _safe_globals_set():
    return set(torch.serialization.get_safe_globals())


@pytest.fixture
def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))


@pytest.fixture
def mmengine_ckpt(tmp_path, model):
    """A checkpoint laid out like ``Runner.save_checkpoint`` writes it."""
    hub = MessageHub.get_instance(f'meid_ckpt_{tmp_path.name}')
    for i in range(3):
        hub.update_scalar('train/loss', np.float32(0.25 * i))
        hub.update_scalar('train/lr', 0.1 / (i + 1))
        hub.update_scalar('train/iter_time', float(i))
    hub.update_info('iter', 3)
    hub.update_info('epoch', np.int64(1))
    checkpoint = dict(
        meta=dict(
            epoch=1,
            iter=3,
            seed=np.int64(42),
            best_score=np.float64(0.75),
            histogram=np.arange(5, dtype=np.float32),
            dtype=np.dtype('float16'),
            dataset_meta=dict(
                classes=('a', 'b'),
                class_groups=dict(head=[0], medium=[], tail=[1]),
            ),
        ),
        state_dict=model.state_dict(),
        message_hub=hub.state_dict(),
        optimizer=dict(
            state={},
            param_groups=[dict(lr=0.1, momentum=0.9, params=[0, 1, 2, 3])],
        ),
    )
    path = tmp_path / 'epoch_1.pth'
    torch.save(checkpoint, path)
    return str(path), checkpoint


def _bad_ckpt(tmp_path, payload, name='bad.pth'):
    path = tmp_path / name
    torch.save(dict(state_dict={'w': torch.zeros(2)}, meta=payload), path)
    return str(path)


def test_fixture_really_needs_the_allow_list(mmengine_ckpt):
    path, _ = mmengine_ckpt
    found = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert _qualname(HistoryBuffer) in found
    assert 'numpy.dtype' in found
    assert 'builtins.getattr' in found
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_load_checkpoint_file_restores_everything(mmengine_ckpt):
    path, saved = mmengine_ckpt
    before = _safe_globals_set()
    loaded = load_checkpoint_file(path, map_location='cpu')
    assert _safe_globals_set() == before

    for key, value in saved['state_dict'].items():
        assert torch.equal(loaded['state_dict'][key], value)
    meta = loaded['meta']
    assert meta['seed'] == np.int64(42)
    assert isinstance(meta['seed'], np.int64)
    assert meta['best_score'] == np.float64(0.75)
    np.testing.assert_array_equal(
        meta['histogram'], np.arange(5, dtype=np.float32)
    )
    assert meta['histogram'].dtype == np.float32
    assert meta['dtype'] == np.dtype('float16')
    assert meta['dataset_meta'] == saved['meta']['dataset_meta']
    assert loaded['optimizer'] == saved['optimizer']

    hub_state = loaded['message_hub']
    buf = hub_state['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    np.testing.assert_array_equal(buf.data[0], [0.0, 0.25, 0.5])
    np.testing.assert_array_equal(buf.data[1], [1, 1, 1])
    assert buf.mean() == pytest.approx(0.25)
    assert buf.statistics('max') == pytest.approx(0.5)
    assert hub_state['runtime_info']['iter'] == 3
    assert hub_state['runtime_info']['epoch'] == np.int64(1)

    # The loaded message hub state can be restored into a hub.
    hub = MessageHub.get_instance(f'meid_ckpt_{id(hub_state)}')
    hub.load_state_dict(hub_state)
    assert hub.get_scalar('train/lr').current() == pytest.approx(0.1 / 3)


def test_mmengine_entry_points_use_the_loader(mmengine_ckpt, model):
    path, saved = mmengine_ckpt
    before = _safe_globals_set()
    raw = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert set(raw) == {'meta', 'state_dict', 'message_hub', 'optimizer'}
    assert isinstance(
        raw['message_hub']['log_scalars']['train/loss'], HistoryBuffer
    )

    fresh = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    out = load_checkpoint(fresh, path, map_location='cpu', strict=True)
    assert out['meta']['seed'] == 42
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)
    assert _safe_globals_set() == before


@pytest.mark.parametrize(
    'payload, cls',
    [
        (Intruder(3), Intruder),
        (OrderedSubclass(a=1), OrderedSubclass),
        (argparse.Namespace(lr=0.1), argparse.Namespace),
    ],
    ids=['class', 'dict-subclass', 'namespace'],
)
def test_other_globals_are_refused(tmp_path, payload, cls):
    path = _bad_ckpt(tmp_path, payload)
    before = _safe_globals_set()
    with pytest.raises(pickle.UnpicklingError) as info:
        load_checkpoint_file(path)
    msg = str(info.value)
    assert path in msg
    assert _qualname(cls) in msg
    assert 'allow-list' in msg
    assert _safe_globals_set() == before
    # The same refusal through mmengine's loader.
    with pytest.raises(pickle.UnpicklingError, match=cls.__qualname__):
        CheckpointLoader.load_checkpoint(path)
    # torch's own default is untouched: a plain load still refuses it.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    assert _safe_globals_set() == before


def test_plain_torch_load_still_refuses_after_a_good_load(
    tmp_path, mmengine_ckpt
):
    good, _ = mmengine_ckpt
    bad = _bad_ckpt(tmp_path, Intruder(1))
    load_checkpoint_file(good)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(bad)
    # Nor did the allow-list leak: HistoryBuffer needs it again.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(good)


@pytest.mark.parametrize(
    'payload, text',
    [
        (GetattrReducer(), "refusing getattr(ndarray, 'tofile')"),
        (
            HistoryBufferReducer(),
            "refusing getattr(HistoryBuffer, 'register_statistics')",
        ),
    ],
    ids=['ndarray.tofile', 'HistoryBuffer.register_statistics'],
)
def test_getattr_is_restricted(tmp_path, payload, text):
    path = _bad_ckpt(tmp_path, payload)
    with pytest.raises(pickle.UnpicklingError) as info:
        load_checkpoint_file(path)
    assert text in str(info.value)


def test_history_buffer_getattr_direct():
    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(
        pickle.UnpicklingError, match=r"getattr\(HistoryBuffer, '__init__'\)"
    ):
        history_buffer_getattr(HistoryBuffer, '__init__')
    with pytest.raises(
        pickle.UnpicklingError, match=r"getattr\(ndarray, 'min'\)"
    ):
        history_buffer_getattr(np.ndarray, 'min')


def test_missing_file(tmp_path):
    path = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match=f'{path} can not be found'):
        load_checkpoint_file(path)


def _broken(tmp_path, good, kind, name):
    """Write a broken copy of the checkpoint file ``good``."""
    data = open(good, 'rb').read()
    content = dict(
        empty=b'',
        truncated=data[: len(data) // 2],
        text=b'this is not a checkpoint\n' * 4,
        random=bytes(range(7, 256)) * 3,
    )[kind]
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(
    'kind, text',
    [
        (
            'empty',
            r'cannot read the checkpoint: the file is empty \(0 bytes\)',
        ),
        (
            'truncated',
            r'cannot read the checkpoint: the file is truncated: it '
            r'starts as a torch checkpoint \(zip archive\) but its end is '
            r'missing \(\d+ bytes\); it was probably cut off',
        ),
        (
            'text',
            r'cannot read the checkpoint: not a torch checkpoint: the file '
            r'\(100 bytes\) is neither a zip archive',
        ),
        ('random', r'cannot read the checkpoint: not a torch checkpoint'),
    ],
)
def test_unreadable_file_is_named(tmp_path, mmengine_ckpt, kind, text):
    path = _broken(tmp_path, mmengine_ckpt[0], kind, f'{kind}.pth')
    with pytest.raises(CheckpointReadError, match=f'^{path}: {text}'):
        load_checkpoint_file(path)
    # the same through mmengine (load_from, --resume, tools/test.py)
    with pytest.raises(CheckpointReadError, match=f'^{path}: {text}'):
        CheckpointLoader.load_checkpoint(path)


def test_corrupt_archive_is_named(tmp_path, mmengine_ckpt):
    # a complete zip directory, but a member's bytes are damaged
    data = bytearray(open(mmengine_ckpt[0], 'rb').read())
    data[100:400] = b'x' * 300
    path = tmp_path / 'corrupt.pth'
    path.write_bytes(bytes(data))
    with pytest.raises(
        CheckpointReadError,
        match=f'^{path}: cannot read the checkpoint, the file '
        r'is corrupt \(',
    ):
        load_checkpoint_file(str(path))


def test_resume_needs_a_training_checkpoint(tmp_path, mmengine_ckpt):
    assert check_resume_checkpoint(mmengine_ckpt[0])['epoch'] == 1
    path = tmp_path / 'weights.pth'
    torch.save({'fc.weight': torch.zeros(2)}, path)
    with pytest.raises(
        CheckpointReadError,
        match=f'^{path}: not a training checkpoint to resume '
        r"from \(needs 'state_dict' and 'meta' with 'epoch' "
        r"and 'iter'; found \['fc.weight'\]\). To start a new "
        'run from these weights, use load_from=<file> without '
        '--resume',
    ):
        check_resume_checkpoint(str(path))


def _work_dir(tmp_path, good, epochs=(1, 2, 3), last=3):
    """``epoch_N.pth`` copies of ``good`` and a ``last_checkpoint``."""
    work = tmp_path / 'work'
    work.mkdir()
    for e in epochs:
        (work / f'epoch_{e}.pth').write_bytes(open(good, 'rb').read())
    (work / 'best_acc_epoch_9.pth').write_bytes(b'')  # never a candidate
    if last is not None:
        (work / 'last_checkpoint').write_text(str(work / f'epoch_{last}.pth'))
    return work


def test_find_resume_latest(tmp_path, mmengine_ckpt):
    work = _work_dir(tmp_path, mmengine_ckpt[0])
    assert find_resume_checkpoint(str(work)) == (str(work / 'epoch_3.pth'), [])


def test_find_resume_falls_back_to_previous_good(tmp_path, mmengine_ckpt):
    work = _work_dir(tmp_path, mmengine_ckpt[0])
    _broken(work, mmengine_ckpt[0], 'truncated', 'epoch_3.pth')
    _broken(work, mmengine_ckpt[0], 'empty', 'epoch_2.pth')
    path, warnings = find_resume_checkpoint(str(work))
    assert path == str(work / 'epoch_1.pth')
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f'--resume: {work / "epoch_3.pth"}: cannot read the checkpoint: the '
        'file is truncated'
    )
    assert (
        f'{work / "epoch_2.pth"}: cannot read the checkpoint: the file '
        'is empty (0 bytes)' in warnings[0]
    )
    assert warnings[0].endswith(
        f'Resuming from {work / "epoch_1.pth"} instead (the newest '
        'checkpoint that can be read)'
    )


def test_find_resume_without_last_checkpoint_file(tmp_path, mmengine_ckpt):
    work = _work_dir(tmp_path, mmengine_ckpt[0], epochs=(2, 10), last=None)
    path, warnings = find_resume_checkpoint(str(work))
    assert path == str(work / 'epoch_10.pth')  # numeric, not text order
    assert warnings == [
        f'--resume: {work / "last_checkpoint"} not found. Resuming from '
        f'{work / "epoch_10.pth"} instead (the newest checkpoint that can be '
        'read)'
    ]


def test_find_resume_nothing_to_resume(tmp_path):
    assert find_resume_checkpoint(str(tmp_path)) == (
        None,
        [
            f'--resume: no checkpoint in the work dir {tmp_path} (no '
            'last_checkpoint file, no epoch_*.pth / iter_*.pth): training '
            'starts from scratch'
        ],
    )
    assert find_resume_checkpoint(str(tmp_path / 'not_made'))[0] is None


def test_find_resume_none_readable(tmp_path, mmengine_ckpt):
    work = _work_dir(tmp_path, mmengine_ckpt[0], epochs=(1,), last=1)
    _broken(work, mmengine_ckpt[0], 'text', 'epoch_1.pth')
    with pytest.raises(
        CheckpointReadError,
        match=r'^--resume: no checkpoint in the work dir '
        f'{work} can be read: {work / "epoch_1.pth"}: cannot '
        'read the checkpoint: not a torch checkpoint',
    ):
        find_resume_checkpoint(str(work))


class _ToyModel(BaseModel):
    """``[B, 2]`` inputs -> ``[B, 1]``; squared error loss."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.fc(torch.stack(inputs)).squeeze(1)
        if mode == 'loss':
            return dict(loss=((out - torch.stack(labels)) ** 2).mean())
        return out


class _ToyData(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(
            inputs=torch.full((2,), float(i)), labels=torch.tensor(float(i))
        )


def _toy_runner(work_dir, max_epochs, **kwargs):
    return Runner(
        model=_ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'meid_ckpt_{max_epochs}_{work_dir.name}',
        train_dataloader=dict(
            dataset=_ToyData(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=2,
            collate_fn=dict(type='pseudo_collate'),
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(
            type='MultiStepLR', milestones=[1], begin=0, end=2
        ),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1),
        ),
        randomness=dict(seed=1),
        default_scope='mmengine',
        **kwargs,
    )


def test_runner_checkpoint_saves_and_resumes(tmp_path):
    """A checkpoint written by mmengine's Runner resumes through the
    registered loader (``weights_only=True``)."""
    _toy_runner(tmp_path, 1).train()
    path = str(tmp_path / 'epoch_1.pth')
    found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    assert _qualname(HistoryBuffer) in found
    checkpoint = load_checkpoint_file(path)
    assert checkpoint['meta']['epoch'] == 1
    assert {'optimizer', 'param_schedulers', 'message_hub'} <= set(checkpoint)

    runner = _toy_runner(tmp_path, 2, resume=True, load_from=path)
    runner.train()
    assert runner.epoch == 2
    # The resumed run trained epoch 2 at the scheduled lr (0.01 -> 0.001
    # after the milestone; a fresh scheduler would have used 0.01), and its
    # message hub continues the lr history restored from the checkpoint.
    lr_history = runner.message_hub.get_scalar('train/lr').data[0]
    np.testing.assert_allclose(lr_history, [0.01, 0.01, 0.001, 0.001])


def test_user_home_is_expanded(mmengine_ckpt, tmp_path, monkeypatch):
    """``load_from='~/ck.pth'`` works as with mmengine's own loader."""
    path, _ = mmengine_ckpt
    home = tmp_path / 'home'
    home.mkdir()
    (home / 'ck.pth').write_bytes(open(path, 'rb').read())
    monkeypatch.setenv('HOME', str(home))
    raw = CheckpointLoader.load_checkpoint('~/ck.pth', map_location='cpu')
    assert raw['meta']['seed'] == 42
    with pytest.raises(
        FileNotFoundError,
        match=re.escape(f'{home}/other.pth can not be found'),
    ):
        load_checkpoint_file('~/other.pth')


def test_old_torch_fallback_warns_once(mmengine_ckpt, monkeypatch):
    path, _ = mmengine_ckpt
    monkeypatch.setattr(ckpt_mod, '_supports_safe_globals', lambda: False)
    ckpt_mod._warn_no_safe_globals.cache_clear()
    # what torch.load itself would do on torch < 2.5 (no allow-list needed)
    monkeypatch.setattr(
        torch, 'load', functools.partial(torch.load, weights_only=False)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        for _ in range(3):
            raw = load_checkpoint_file(path, map_location='cpu')
    assert raw['meta']['seed'] == 42
    messages = [
        str(w.message) for w in caught if 'safe_globals' in str(w.message)
    ]
    assert len(messages) == 1
    assert 'default instead of weights_only=True' in messages[0]
    ckpt_mod._warn_no_safe_globals.cache_clear()
