"""Build the compiled kernels (`dedup._kernels`, Cython with OpenMP); everything else is in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

# -O3 after the interpreter's own flags; OpenMP for the threaded loops (GCC's libgomp).
openmp = ["-fopenmp"]
kernels = Extension(
    "dedup._kernels",
    ["dedup/_kernels.pyx"],
    extra_compile_args=["-O3", *openmp],
    extra_link_args=openmp,
)
setup(ext_modules=cythonize([kernels], compiler_directives={"language_level": "3"}))
