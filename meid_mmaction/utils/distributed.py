"""Multi-process runs of the shipped tools on machines with or without GPUs.

``tools/dist_train.sh`` / ``tools/dist_test.sh`` start N processes with
``torchrun`` and pass ``--launcher pytorch``. With CUDA, mmengine sets up
the process group itself (NCCL unless ``env_cfg.dist_cfg.backend`` says
otherwise). Without CUDA its launcher fails (it calls
``torch.cuda.set_device``), so :func:`setup_cpu_distributed` joins the
torchrun group with gloo before the runner is built; mmengine then finds the
group initialised and uses it.

:func:`distributed_session` wraps a run and destroys the group at the end
(:func:`destroy_distributed`): the gloo backend's threads must be joined
while the interpreter is alive, or the process can abort at exit with
``terminate called without an active exception``.
"""

import contextlib
import datetime
import gc
import os

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict

#: the environment ``torchrun`` sets up for every process
TORCHRUN_ENV = ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')


def _is_ddp_wrapper(wrapper_cfg) -> bool:
    """Whether a ``model_wrapper_cfg`` builds a DistributedDataParallel."""
    from mmengine.registry import MODEL_WRAPPERS
    from torch.nn.parallel import DistributedDataParallel

    wrapper_type = wrapper_cfg.get('type', 'MMDistributedDataParallel')
    if isinstance(wrapper_type, str):
        wrapper_type = MODEL_WRAPPERS.get(wrapper_type)
    return isinstance(wrapper_type, type) and issubclass(
        wrapper_type, DistributedDataParallel
    )


def setup_cpu_distributed(cfg: Config) -> bool:
    """Join the ``torchrun`` process group with gloo when there is no GPU.

    Only acts for ``cfg.launcher == 'pytorch'`` on a machine where
    ``torch.cuda.is_available()`` is False. It then

    * records ``env_cfg.dist_cfg.backend = 'gloo'`` in the config (NCCL
      needs GPUs);
    * makes the DDP model wrapper run without ``device_ids`` (mmengine
      passes ``[LOCAL_RANK]``, a GPU index); with no ``model_wrapper_cfg``
      it writes mmengine's default wrapper (``broadcast_buffers=False``,
      ``find_unused_parameters`` from the config);
    * initialises the default process group from torchrun's environment
      (``env_cfg.dist_cfg.timeout`` in seconds is honoured).

    Args:
        cfg (Config): the config after ``--launcher`` was applied; edited
            in place.

    Returns:
        bool: True if this call initialised a gloo process group.

    Raises:
        RuntimeError: if torchrun's environment variables are missing.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return False
    missing = [k for k in TORCHRUN_ENV if k not in os.environ]
    if missing:
        raise RuntimeError(
            '--launcher pytorch expects the environment torchrun sets up, '
            f'missing {", ".join(missing)}. Start N processes with '
            '`bash tools/dist_train.sh CONFIG N` (or torchrun).'
        )
    env_cfg = cfg.get('env_cfg') or ConfigDict()
    dist_cfg = env_cfg.get('dist_cfg') or ConfigDict()
    dist_cfg['backend'] = 'gloo'
    env_cfg['dist_cfg'] = dist_cfg
    cfg.env_cfg = env_cfg
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
            device_ids=None,
        )
    elif _is_ddp_wrapper(wrapper):
        wrapper['device_ids'] = None
    if dist.is_initialized():
        return False
    kwargs = {}
    if dist_cfg.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    dist.init_process_group(backend='gloo', **kwargs)
    return True


def destroy_distributed() -> None:
    """Destroy the default process group and free its backend now.

    ``destroy_process_group`` alone does not stop gloo's threads while
    anything still references the group: a DDP-wrapped model does, and a
    finished runner lives on in reference cycles until the interpreter
    exits, where gloo then aborts. Call this after the last reference to
    the runner was dropped: the cycles are collected first, then the group
    is destroyed and, with no reference left, freed (its threads joined).
    Without a group (one process) there is nothing to free: no collection
    is run (a full one walks every object: ~0.2 s after a training run).
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    gc.collect()
    dist.destroy_process_group()
    gc.collect()


@contextlib.contextmanager
def distributed_session(cfg: Config):
    """Run a block as one process of a (possibly) multi-process job.

    Calls :func:`setup_cpu_distributed` on entry and
    :func:`destroy_distributed` on exit. Build and drop the runner inside
    the block (keep no reference to it after) so that the group can be
    freed::

        with distributed_session(cfg):
            build_runner(cfg).train()

    Args:
        cfg (Config): the full config (``launcher`` set).
    """
    setup_cpu_distributed(cfg)
    try:
        yield
    finally:
        destroy_distributed()
