"""Progress: one line every N % when the stream is not a terminal, one
line updated in place on a terminal."""

import io

import pytest

from meid_mmaction.utils.progress import Progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_non_tty_writes_a_line_every_n_percent():
    stream = io.StringIO()
    bar = Progress(1000, label='features', stream=stream, every=25)
    for _ in range(1000):
        bar.update()
    bar.close()
    lines = stream.getvalue().splitlines()
    assert [line.split(',')[0] for line in lines] == [
        'features: 250/1000 (25%)',
        'features: 500/1000 (50%)',
        'features: 750/1000 (75%)',
        'features: 1000/1000 (100%)',
    ]
    assert '\r' not in stream.getvalue()


def test_non_tty_few_steps_and_big_jumps():
    # 3 steps of 33 %: every 10 % -> one line per step, the last at 100 %
    stream = io.StringIO()
    bar = Progress(3, stream=stream)
    for _ in range(3):
        bar.update()
    assert [x.split(',')[0] for x in stream.getvalue().splitlines()] == [
        'progress: 1/3 (33%)',
        'progress: 2/3 (67%)',
        'progress: 3/3 (100%)',
    ]
    # a jump over several thresholds writes one line
    stream = io.StringIO()
    bar = Progress(10, stream=stream, every=10)
    bar.update(7)
    bar.update(3)
    assert len(stream.getvalue().splitlines()) == 2


def test_tty_updates_in_place():
    stream = _Tty()
    bar = Progress(500, label='f', stream=stream, min_interval=3600)
    for _ in range(500):
        bar.update()
    bar.close()
    text = stream.getvalue()
    # the first draw and the last (100 %), throttled in between; one newline
    assert text.count('\r') == 2
    assert text.count('\n') == 1 and text.endswith('\n')
    assert text.startswith('\rf: 1/500 (0%), 0 s, ETA ')
    assert '\rf: 500/500 (100%), ' in text


def test_bad_arguments():
    with pytest.raises(ValueError, match='total must be >= 1, got 0'):
        Progress(0)
    with pytest.raises(ValueError, match=r'every must be in \(0, 100\]'):
        Progress(5, every=0)
