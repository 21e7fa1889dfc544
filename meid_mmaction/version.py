"""Version of the meid_mmaction package."""

__version__ = '0.1.0'
