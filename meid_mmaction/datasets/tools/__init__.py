"""Dataset tools: benchmark builders and the dataset checker.

Pure functions used by the command-line scripts in ``tools/data``.
"""
