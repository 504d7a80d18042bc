"""A cheaper form of the check PySide runs on every module imported after it.

PySide replaces `__import__` to support `from __feature__ import snake_case, true_property` (connhub uses
neither). For each module it has not seen, `shibokensupport.feature._mod_uses_pyside` then decides whether the
module mentions "PySide6" by reading its source through `inspect.getsource` (tokenizer, linecache, a walk over
`sys.modules`): 58 modules and 7-12 ms before the window's first paint, and every SQLAlchemy, pydantic and driver
module after it. Searching the file's bytes gives the same answer in a fraction of the time; a module with no
`.py` file (built-in, extension, frozen) still gets PySide's own check. napari measured the same cost:
github.com/napari/napari/issues/8584.
"""

from __future__ import annotations


def use_quick_feature_check() -> None:
    """Replace PySide's check with the byte search; a PySide without that function is left as it is."""
    try:
        from shibokensupport import feature  # importable once PySide6.QtCore is
    except ImportError:
        return
    original = getattr(feature, "_mod_uses_pyside", None)
    if original is None or getattr(original, "quick", False):
        return

    def mod_uses_pyside(module) -> bool:
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as source:
                    return b"PySide6" in source.read()
            except OSError:
                pass
        return original(module)

    mod_uses_pyside.quick = True  # type: ignore[attr-defined]
    mod_uses_pyside.original = original  # type: ignore[attr-defined]
    feature._mod_uses_pyside = mod_uses_pyside
