"""``tools/train.py --resume`` with missing and broken checkpoints (the tool's
``main`` run in-process on tiny synthetic data)."""

import importlib.util
import os
import os.path as osp
import shutil
import sys
import uuid

import pytest

from meid_datatools.synthetic import generate_synthetic_lt
from meid_mmaction.utils.checkpoint import CheckpointReadError

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(REPO, 'configs', 'nonlinear_synthetic.py')


def _train_tool():
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(REPO, 'tools', 'train.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train(monkeypatch, root, work, *args, epochs=2):
    opts = [
        f'data_root={root}',
        'num_classes=6',
        'feat_dim=8',
        'head_thr=30',
        'tail_thr=5',
        'model.cls_head.num_classes=6',
        'model.cls_head.in_channels=8',
        'train_dataloader.batch_size=16',
        'train_dataloader.num_workers=0',
        f'train_cfg.max_epochs={epochs}',
        f'work_dir={work}',
        # its own logger: mmengine names a runner's logger by config and
        # second, and a second run in the same second would reuse the
        # first's (its stream is the first test's captured stdout)
        f'experiment_name={uuid.uuid4().hex}',
    ]
    monkeypatch.setattr(
        sys,
        'argv',
        [
            'train.py',
            CONFIG,
            '--no-validate',
            '--check-data',
            'off',
            *args,
            '--cfg-options',
            *opts,
        ],
    )
    _train_tool().main()


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A 2-epoch run: ``epoch_1.pth``, ``epoch_2.pth``, ``last_checkpoint``."""
    root = str(tmp_path_factory.mktemp('data'))
    generate_synthetic_lt(root, preset='tiny', seed=0, test_max_count=6)
    work = str(tmp_path_factory.mktemp('work'))
    with pytest.MonkeyPatch.context() as mp:
        _train(mp, root, work)
    return root, work


def _copy(trained, tmp_path):
    """The trained work dir, copied, with ``last_checkpoint`` pointing into
    the copy."""
    work = str(tmp_path / 'work')
    shutil.copytree(trained[1], work)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_2.pth'))
    return work


def test_auto_resume_falls_back_when_the_latest_is_truncated(
    trained, tmp_path, monkeypatch, capsys
):
    work = _copy(trained, tmp_path)
    latest = osp.join(work, 'epoch_2.pth')
    data = open(latest, 'rb').read()
    with open(latest, 'wb') as f:
        f.write(data[: len(data) // 3])  # e.g. killed while saving
    _train(monkeypatch, trained[0], work, '--resume', epochs=3)
    out = capsys.readouterr().out
    assert (
        f'WARNING - --resume: {latest}: cannot read the checkpoint: the '
        'file is truncated'
    ) in out
    assert (
        f'Resuming from {osp.join(work, "epoch_1.pth")} instead (the '
        'newest checkpoint that can be read)'
    ) in out
    assert 'resumed epoch: 1' in out
    assert osp.isfile(osp.join(work, 'epoch_3.pth'))


def test_explicit_resume_path_that_cannot_be_read(
    trained, tmp_path, monkeypatch
):
    work = _copy(trained, tmp_path)
    bad = osp.join(work, 'epoch_2.pth')
    open(bad, 'wb').close()
    before = sorted(os.listdir(work))
    with pytest.raises(
        CheckpointReadError,
        match=f'^{bad}: cannot read the checkpoint: the file '
        r'is empty \(0 bytes\)',
    ):
        _train(monkeypatch, trained[0], work, '--resume', bad, epochs=3)
    assert sorted(os.listdir(work)) == before  # nothing was started
    with pytest.raises(
        FileNotFoundError, match=f'{work}/nope.pth can not be found'
    ):
        _train(
            monkeypatch,
            trained[0],
            work,
            '--resume',
            osp.join(work, 'nope.pth'),
        )


def test_auto_resume_in_a_work_dir_without_checkpoints(
    trained, tmp_path, monkeypatch, capsys
):
    work = str(tmp_path / 'fresh')
    _train(monkeypatch, trained[0], work, '--resume', epochs=1)
    out = capsys.readouterr().out
    assert (
        f'WARNING - --resume: no checkpoint in the work dir {work} (no '
        'last_checkpoint file, no epoch_*.pth / iter_*.pth): training '
        'starts from scratch'
    ) in out
    assert 'resumed epoch' not in out
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


def test_auto_resume_when_no_checkpoint_can_be_read(
    trained, tmp_path, monkeypatch
):
    work = _copy(trained, tmp_path)
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        with open(osp.join(work, name), 'wb') as f:
            f.write(b'garbage' * 10)
    with pytest.raises(
        CheckpointReadError,
        match=r'^--resume: no checkpoint in the work dir '
        f'{work} can be read: {work}/epoch_2.pth: cannot read '
        'the checkpoint: not a torch checkpoint',
    ):
        _train(monkeypatch, trained[0], work, '--resume', epochs=3)


def test_resume_from_another_models_checkpoint(trained, tmp_path, monkeypatch):
    """A checkpoint of another model: an error naming it, a few missing /
    unexpected / resized weights and ``load_from``; torch's optimizer error
    (parameter groups of another size) is never reached."""
    import torch

    work = _copy(trained, tmp_path)
    ckpt = torch.load(osp.join(work, 'epoch_2.pth'), weights_only=False)
    state = ckpt['state_dict']
    names = list(state)
    # another model: the first weight resized, the last one missing, two
    # weights the config's model does not have
    shape = tuple(state[names[0]].shape)
    state[names[0]] = torch.zeros(3, 5)
    del state[names[-1]]
    state['cls_head.expert2.weight'] = torch.zeros(2)
    state['cls_head.expert2.bias'] = torch.zeros(2)
    other = str(tmp_path / 'other_model.pth')
    torch.save(ckpt, other)
    with pytest.raises(ValueError) as err:
        _train(monkeypatch, trained[0], work, '--resume', other, epochs=3)
    text = str(err.value)
    assert text.startswith(
        f'--resume {other}: the checkpoint belongs to a different model '
        'than this config builds (FeatureRecognizer): 1 weight(s) of the '
        f'model are not in it: {names[-1]}; 2 weight(s) in it are not in '
        'the model: cls_head.expert2.weight, cls_head.expert2.bias; 1 '
        'weight(s) have another shape (checkpoint vs model): '
        f'{names[0]} (3, 5) vs {shape}.'
    ), text
    assert f'`--cfg-options load_from={other}` without --resume' in text
    assert not osp.exists(osp.join(work, 'epoch_3.pth'))
