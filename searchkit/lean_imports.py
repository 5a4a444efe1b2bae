"""Whoosh's start-up imports of things searchkit never calls, deferred until something calls them.

`searchkit query` is a fresh process per question, so import time is paid on every call. Three of
Whoosh's module-level imports cost ~20-25 ms of it (of ~100 ms for all of searchkit and Whoosh)
for functions searchkit does not use:

- `whoosh.compat` imports `urllib.request` (with `http.client`, `email`, `ssl`) for `urlretrieve`;
- `whoosh.reading` imports the `cached_property` package, which imports `asyncio` for its async
  variants — the plain decorator is `functools.cached_property`;
- `whoosh.query.terms` imports `whoosh.lang.morph_en` (dozens of regular expressions compiled at
  import) for `variations`, used only by the `Variations` query.

`install()` (called by `searchkit/__init__.py`) puts a finder on `sys.meta_path` that, while one
of those three Whoosh modules executes, lends it a stand-in for the module it imports: a function
that imports the real module on its first call, or `functools.cached_property`. The stand-ins leave
`sys.modules` as soon as the Whoosh module has run, so any other `import urllib.request` (or of the
others) gets the real module. Nothing changes when the real module is already loaded, or when
Whoosh was imported before searchkit. The one window: while one of those Whoosh modules runs (well
under a millisecond, once per process), another thread importing one of the lent modules for the
first time would get the stand-in.
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from importlib.machinery import ModuleSpec, PathFinder
from typing import Any, Callable, Sequence


def _forwarder(module: str, name: str) -> Callable[..., Any]:
    """A function that imports `module` on its first call and calls its `name`."""

    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = f"{module}.{name}, imported when first called."
    return forward


def _stand_in(module: str, **names: Any) -> types.ModuleType:
    stand_in = types.ModuleType(module, f"searchkit's stand-in for {module} while Whoosh imports")
    stand_in.__dict__.update(names)
    return stand_in


# Whoosh module → the stand-ins it gets while it executes (built on demand: module name → factory).
_STAND_INS: dict[str, dict[str, Callable[[], types.ModuleType]]] = {
    "whoosh.compat": {
        "urllib.request": lambda: _stand_in("urllib.request", urlretrieve=_forwarder("urllib.request", "urlretrieve")),
    },
    "whoosh.reading": {
        "cached_property": lambda: _stand_in("cached_property", cached_property=functools.cached_property),
    },
    "whoosh.query.terms": {
        "whoosh.lang.morph_en": lambda: _stand_in(
            "whoosh.lang.morph_en", variations=_forwarder("whoosh.lang.morph_en", "variations")
        ),
    },
}


# Plain classes rather than importlib.abc's: on Python 3.11 that module imports importlib.resources
# and tempfile (~3 ms of start-up); the import system needs only the methods.
class _WithStandIns:
    """Runs a Whoosh module with stand-ins in `sys.modules`; anything else goes to the real loader."""

    def __init__(self, loader: Any, stand_ins: dict[str, Callable[[], types.ModuleType]]) -> None:
        self._loader = loader
        self._stand_ins = stand_ins

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: types.ModuleType) -> None:
        lent = [name for name in self._stand_ins if name not in sys.modules]
        for name in lent:
            sys.modules[name] = self._stand_ins[name]()
        try:
            self._loader.exec_module(module)
        finally:
            for name in lent:
                sys.modules.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # get_source, get_code, is_package, …: tracebacks and inspect ask the module's loader.
        return getattr(self._loader, name)


class _LeanWhooshImports:
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> ModuleSpec | None:
        stand_ins = _STAND_INS.get(fullname)
        if stand_ins is None:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _WithStandIns(spec.loader, stand_ins)
        return spec


_FINDER = _LeanWhooshImports()


def install() -> None:
    """Defer Whoosh's unused imports in this process (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


__all__ = ["install"]
