"""Dump every resolved config under configs/ (bases excluded) as sorted JSON.

Used to check that a reorganisation of the config files leaves every config
resolving to the identical dict::

    python tools/dev/dump_configs.py work_dirs/configs_before
    # ... edit configs ...
    python tools/dev/dump_configs.py work_dirs/configs_after
    diff -r work_dirs/configs_before work_dirs/configs_after
"""

import argparse
import json
from pathlib import Path

from mmengine.config import Config


def dump_configs(config_dir, out_dir):
    """Write ``Config.fromfile(p).to_dict()`` of every config as JSON.

    Args:
        config_dir (str | Path): folder searched recursively for ``*.py``;
            files under a ``_base_`` folder are skipped.
        out_dir (str | Path): folder the JSON files are written to, one per
            config, named after its path with ``/`` replaced by ``__``.

    Returns:
        list[str]: the config paths dumped, relative to ``config_dir``.
    """
    config_dir = Path(config_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for path in sorted(config_dir.rglob('*.py')):
        rel = path.relative_to(config_dir)
        if '_base_' in rel.parts:
            continue
        cfg = Config.fromfile(str(path)).to_dict()
        text = json.dumps(cfg, sort_keys=True, indent=1, default=str)
        name = str(rel).replace('/', '__') + '.json'
        (out_dir / name).write_text(text + '\n')
        done.append(str(rel))
    return done


def main():
    """Parse the command line and dump the configs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='folder for the JSON dumps')
    parser.add_argument('--configs', default='configs', help='config folder')
    args = parser.parse_args()
    done = dump_configs(args.configs, args.out_dir)
    print(f'{len(done)} configs dumped to {args.out_dir}')


if __name__ == '__main__':
    main()
