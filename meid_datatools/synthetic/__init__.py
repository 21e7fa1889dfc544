r"""Synthetic long-tailed multi-label per-frame feature datasets.

:func:`generate_synthetic_lt` writes a dataset in the on-disk format of
``docs/design.md`` (VideoLT layout)::

    <out>/train.lst, validate.lst, test.lst   <video id> <label>[,<label>...]
    <out>/count-labels-train.lst              <class name> <index> <count>
    <out>/features/<video id>.npy             [T_i, D] float32
    <out>/segments.csv                        the ground-truth action segments
    <out>/meta.json                           parameters, seed, statistics

It is small enough for a CPU demo and built so that the ingredients of MEID
(frame attention, complementary frame selection, motion, head-to-tail
distillation) have something to work on.

Generative model
----------------
Classes ``c = 0..C-1``; every class is given a *frequency position*
``r_c`` (a random permutation of ``0..C-1`` when ``shuffle_classes``).

1. Training counts (exact, by construction)::

       n_c = round(n_max * (n_min / n_max) ** (r_c / (C - 1)))

   so the imbalance ratio ``max n_c / min n_c = n_max / n_min``. A class's
   *headness* is ``f_c = log(n_c / n_min) / log(n_max / n_min)`` in
   ``[0, 1]`` (1 = most frequent).

2. Validation / test counts are a tempered copy of the same law with a
   guaranteed minimum, so that every class has positives to evaluate::

       m_c = max(m_min, round(m_max * (n_c / n_max) ** tau)),  tau < 1.

3. Videos: with ``L = sum_c n_c`` label instances and a target of ``k``
   labels per video, ``N = round(L / k)`` videos get label-set sizes
   ``k_i = 1 + min(Poisson(k - 1), k_max - 1)``, adjusted by +-1 until
   ``sum_i k_i = L``. Classes, most frequent first, pick ``n_c`` distinct
   videos without replacement with probability proportional to the videos'
   remaining capacity, so every class has exactly ``n_c`` videos (videos
   left without a label, possible only when capacities cannot be matched
   exactly, are dropped and reported).

4. Class prototypes with shared components (confusable classes). Classes
   are put at random into families of ``family_size``; with random unit
   vectors ``u_c`` (own) and ``g_j`` (family ``j``) and share ``s``::

       mu_c = normalise(sqrt(1 - s) u_c + sqrt(s) g_family(c)),   |mu_c| = 1

   and a class *temporal signature*: a drift direction ``delta_c`` (own
   random direction, ``|delta_c| = drift_norm``), which is not shared, so
   motion separates classes that appearance confuses.

5. Segments: every (video i, class c) pair is one segment of length
   ``l = clip(round(T_i * (lambda_t + (lambda_h - lambda_t) f_c) * U(1-j,
   1+j)), l_min, T_i)`` frames at a uniform start, with amplitude
   ``a = (a_t + (a_h - a_t) f_c) * U(1-j_a, 1+j_a)``: head classes get long,
   strong segments; tail classes short, weak ones. Segments of different
   classes overlap freely (tail segments often lie inside head ones).
   ``T_i ~ U{T_min..T_max}``.

6. Frame features, ``t = 0..T_i-1`` and ``tau_t = (t - start) / (l - 1)``
   the relative position inside a segment::

       x_{i,t} = b_i + sum_{c active at t} a_{i,c} (mu_c
                                         + (tau_t - 1/2) delta_c) + e_{i,t}

   with a per-video background ``b_i ~ N(0, sigma_b^2 / D I)`` (static
   scene) and AR(1) noise along time, ``e_{i,0} = z_{i,0}``,
   ``e_{i,t} = rho e_{i,t-1} + sqrt(1 - rho^2) z_{i,t}``,
   ``z ~ N(0, sigma^2 / D I)`` (real features are smooth in time, so
   adjacent differences are not swamped by noise).

Consequences: many frames are background-only or carry only head classes
(frame-level imbalance, so attention over frames helps); tail evidence is
short, weak and overlaps head segments (frames a first expert ignores);
within a segment ``x_{t+1} - x_t`` carries ``a delta_c / (l - 1)`` (motion
is informative); classes of one family are confusable in appearance.

Everything is deterministic for a seed (``numpy.random.Generator`` streams
spawned from ``SeedSequence(seed)``), vectorised over videos (chunks of
``chunk_size`` videos), and float32 on disk.

Modules: :mod:`.presets` (the knobs and presets), :mod:`.labels` (counts,
label sets, segments, real timelines), :mod:`.render` (class model and
frame features), :mod:`.writer` (:func:`generate_synthetic_lt`, the files).
"""

from .labels import charades_timeline_plan, power_law_counts
from .presets import PRESETS, SyntheticLTConfig, make_config
from .writer import GENERATOR_VERSION, SPLITS, generate_synthetic_lt

__all__ = [
    'GENERATOR_VERSION',
    'PRESETS',
    'SPLITS',
    'SyntheticLTConfig',
    'charades_timeline_plan',
    'generate_synthetic_lt',
    'make_config',
    'power_law_counts',
]
