"""Build of the one compiled module: agentslo's OTLP wire reader (Cython).

Everything else is in ``pyproject.toml``. The extension is optional: when it cannot
be compiled (no C compiler), the install goes on and
``agentslo.ingest.otlp_wire`` uses its pure-Python walk, which reads the same.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = cythonize(
    [
        Extension(
            "agentslo.ingest._wire_fast",
            ["src/agentslo/ingest/_wire_fast.pyx"],
            extra_compile_args=["-O2"],
        )
    ],
    compiler_directives={"language_level": "3"},
)
for extension in extensions:
    # cythonize builds new Extension objects: mark them optional afterwards, so that a
    # failed compile is a warning rather than a failed install.
    extension.optional = True

setup(ext_modules=extensions)
