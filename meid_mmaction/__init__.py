"""meid_mmaction: MEID and long-tail tools for MMAction2.

Importing the package checks the installed versions and registers every
component into MMAction2's registries. mmcv-lite's warning about the missing
``MultiScaleDeformableAttention`` op (unused here) is silenced first, so that
no command prints it.
"""

from ._warnings import silence_mmcv_lite_msda_warning

silence_mmcv_lite_msda_warning()

from .utils.version_check import check_dependencies  # noqa: E402

check_dependencies()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .utils.checkpoint import register_checkpoint_loader  # noqa: E402
from .version import __version__  # noqa: E402

register_checkpoint_loader()

__all__ = ['__version__']
