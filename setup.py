"""Build of agentslo's compiled modules (Cython): the OTLP wire reader, the mapping
of common spans, the Arrow column builder and the per-trace tally of run assembly.

Everything else is in ``pyproject.toml``. The extensions are optional: when they
cannot be compiled (no C compiler), the install goes on and
``agentslo.ingest.otlp_wire``, ``semconv``, ``arrow_build`` and ``assemble`` use
their pure-Python code, which gives the same results.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = cythonize(
    [
        Extension(
            f"agentslo.ingest.{name}",
            [f"src/agentslo/ingest/{name}.pyx"],
            extra_compile_args=["-O2", "-ffp-contract=off"],
        )
        for name in ("_wire_fast", "_map_fast", "_columns_fast", "_assemble_fast")
    ],
    compiler_directives={"language_level": "3"},
)
for extension in extensions:
    # cythonize builds new Extension objects: mark them optional afterwards, so that a
    # failed compile is a warning rather than a failed install.
    extension.optional = True

setup(ext_modules=extensions)
