"""Build the C extension behind evalkit's TER aligner; everything else lives in pyproject.toml.

``optional=True``: without a C compiler the install still succeeds and evalkit uses the pure-Python
implementation of the same algorithm (evalkit/spans/_ter_py.py), with identical results.
"""
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "evalkit.spans._ter_c",
            sources=["evalkit/spans/_ter_c.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
