from . import (  # noqa: F401
    aggregators,
    blending,
    data_preprocessors,
    heads,
    losses,
    recognizers,
)
