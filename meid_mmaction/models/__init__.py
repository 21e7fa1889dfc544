from . import aggregators, heads, losses, recognizers  # noqa: F401
