"""Start-up behaviour: `import femtojit` stays light, and the interpreter still works when
numba has nowhere to write its cache (a read-only install)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import REPO


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip


def test_import_does_not_load_numba_or_numpy():
    done = _python(
        """
        import sys
        import femtojit, femtojit.api, femtojit.interp, femtojit.builtin_helpers
        heavy = sorted(m for m in ("numba", "numpy", "llvmlite") if m in sys.modules)
        print(heavy)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_no_writable_numba_cache_falls_back_to_compiling():
    # Root ignores file permissions, so a read-only install is simulated by leaving numba no
    # cache locator at all: decorating with cache=True then raises RuntimeError.
    done = _python(
        """
        import numba.core.caching as caching
        caching.CacheImpl._locator_classes = []
        from femtojit.interp import core
        assert type(core.run_core._cache).__name__ == "NullCache", core.run_core._cache
        import femtojit
        from femtojit.asm import assemble_program
        result = femtojit.run(assemble_program("mov %r0, 6\\nmul %r0, 7\\nexit"))
        print(result.status, result.result)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "42"]
