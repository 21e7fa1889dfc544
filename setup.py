import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path, encoding='utf-8') as f:
        return [
            line.strip()
            for line in f
            if line.strip() and not line.startswith('#')
        ]


def read_version():
    scope = {}
    with open(osp.join('meid_mmaction', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='meid_mmaction',
    version=read_version(),
    description='MEID and long-tail tools (datasets, samplers, evaluator) '
    'for multi-label video recognition in MMAction2',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.8',
    # torch is deliberately not listed: install the build for your machine
    # first (CPU or CUDA); a bare `torch` requirement would pull a CUDA build.
    # mmcv (full) or mmcv-lite: either works, checked at import.
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'lite': ['mmcv-lite>=2.0.0,<2.3.0'],
    },
    license='Apache License 2.0',
    zip_safe=False,
)
