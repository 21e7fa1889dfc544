"""Silence the one import-time warning of mmcv-lite that users cannot act on.

mmcv-lite has no compiled ops, so importing ``mmcv.cnn.bricks.transformer``
(which MMAction2's models do) warns that ``MultiScaleDeformableAttention``
could not be imported. No component of this package uses that op. The filter
matches only that message from that module; every other warning is shown.
It must be installed before the module is first imported.
"""

import warnings

MMCV_LITE_MSDA_MESSAGE = r'Fail to import ``MultiScaleDeformableAttention``'
MMCV_TRANSFORMER_MODULE = r'mmcv\.cnn\.bricks\.transformer'


def silence_mmcv_lite_msda_warning() -> None:
    """Ignore mmcv-lite's ``MultiScaleDeformableAttention`` import warning."""
    warnings.filterwarnings(
        'ignore',
        message=MMCV_LITE_MSDA_MESSAGE,
        category=UserWarning,
        module=MMCV_TRANSFORMER_MODULE,
    )
