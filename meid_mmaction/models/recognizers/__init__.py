# Each module registers its component at definition; add one import per module.
from .feature_recognizer import FeatureRecognizer

__all__ = ['FeatureRecognizer']
