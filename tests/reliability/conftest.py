"""The GUI fixtures (a real MainWindow on its own Hub) shared with tests/gui."""

from tests.gui.conftest import builtin_types, make_form, make_window  # noqa: F401
