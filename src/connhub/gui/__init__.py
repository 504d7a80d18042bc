"""PySide6 lives here and only here: windows, dialogs, the form builder, list models, icons."""
