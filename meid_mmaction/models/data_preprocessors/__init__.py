# Each module registers its component at definition; add one import per module.
from .feature_data_preprocessor import FeatureDataPreprocessor, batch_of_views

__all__ = ['FeatureDataPreprocessor', 'batch_of_views']
