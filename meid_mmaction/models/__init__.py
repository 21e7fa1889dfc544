from . import heads, losses, recognizers  # noqa: F401
