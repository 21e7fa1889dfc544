# Each module registers its component at definition; add one import per module.
from .formatting import PackFeatureInputs
from .loading import LoadFeatureFrames, OpenFeatures
from .sampling import SampleFeatureFrames

__all__ = [
    'OpenFeatures',
    'SampleFeatureFrames',
    'LoadFeatureFrames',
    'PackFeatureInputs',
]
