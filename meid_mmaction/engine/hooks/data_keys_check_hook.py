"""Stop a run whose data keys did not reach its dataloaders."""

from mmaction.registry import HOOKS
from mmengine.hooks import Hook

from ...utils.data_keys import check_data_keys


@HOOKS.register_module()
class DataKeysCheckHook(Hook):
    """Refuse to run when a data key is not what the loaders read.

    A feature-dataset base config writes its data keys (``data_root``,
    ``feat_dir``, ``num_classes``, ...) into the three dataloaders when it
    is read; a child config or ``--cfg-options`` that sets a data key again
    changes the key but not those loaders. ``tools/train.py`` /
    ``tools/test.py`` of meid_mmaction copy the key into the loaders
    (:func:`~meid_mmaction.utils.data_keys.apply_data_keys`); MMAction2's
    own tools and a bare ``Runner.from_cfg`` do not, and would train or
    test on the base's data. Before every run (train, val, test), before
    anything is trained, this hook raises a ``ValueError`` naming each such
    key, the loader values and the fix
    (:func:`~meid_mmaction.utils.data_keys.check_data_keys`). It is in
    ``configs/_base_/default_runtime.py``; with meid_mmaction's tools it
    always passes.
    """

    priority = 'HIGHEST'

    def before_run(self, runner) -> None:
        """Compare ``runner.cfg``'s data keys with its loaders."""
        check_data_keys(runner.cfg)
