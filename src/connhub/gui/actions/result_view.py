"""An action's result on screen: a table when it is rows (`columns` + `rows`), pretty JSON otherwise, and the
same value as JSON or CSV text for Copy and Save as (written all or nothing, readable by the user alone)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QAbstractItemView, QPlainTextEdit, QStackedWidget, QTableView

#: Cells longer than this are cut on screen (the whole value stays in Copy / Save as).
MAX_CELL_CHARS = 500
#: Column widths are measured over this many rows (Qt measures 1,000: 86 ms for a 1,000-row result; with 50,
#: 3 ms at any size — `python benchmarks/actions_window.py`).
RESIZE_ROWS = 50


def rows_of(result: Any) -> tuple[list[str], list[Any]] | None:
    """(columns, rows) when the result is a table (query, list_tables), else None."""
    if not isinstance(result, dict):
        return None
    columns, rows = result.get("columns"), result.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        return None
    if not all(isinstance(c, str) for c in columns) or (rows and not isinstance(rows[0], list | tuple)):
        return None
    return columns, rows  # not copied nor walked here: 100,000 rows cost 70 ms on the GUI thread that way


def as_json(result: Any) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False, default=str)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def as_csv(result: Any) -> str:
    """The rows as CSV with a header line; raises ValueError when the result is not rows."""
    table = rows_of(result)
    if table is None:
        raise ValueError("This result is not a table: save it as JSON")
    columns, rows = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell_text(v) for v in _cells(row)])
    return out.getvalue()


def _cells(row: Any) -> list | tuple:
    return row if isinstance(row, list | tuple) else [row]


def write_private(path: str | Path, text: str) -> None:
    """Write `text` to `path` all or nothing, mode 0600: a temporary file beside it, then one rename."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


class RowsModel(QAbstractTableModel):
    """Columns and rows of a result, read only."""

    def __init__(self, columns: list[str], rows: list[Any], parent=None):
        super().__init__(parent)
        self._columns, self._rows = columns, rows

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = _cells(self._rows[index.row()])
        value = row[index.column()] if index.column() < len(row) else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            return int((Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft)
                       | Qt.AlignmentFlag.AlignVCenter)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        text = cell_text(value)
        if role == Qt.ItemDataRole.DisplayRole:
            return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"
        return text[:2000] if len(text) > 40 else None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._columns[section] if section < len(self._columns) else None
        return str(section + 1)


class ResultView(QStackedWidget):
    """Page 0: the JSON text; page 1: the table."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("actionResult")
        self.text = QPlainTextEdit()
        self.text.setObjectName("actionResultText")
        self.text.setAccessibleName("Action result")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.table = QTableView()
        self.table.setObjectName("actionResultTable")
        self.table.setAccessibleName("Action result rows")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        # Column widths from the first rows only: measuring all 1,000 (Qt's default) stalled the window 86 ms.
        self.table.horizontalHeader().setResizeContentsPrecision(RESIZE_ROWS)
        self.table.verticalHeader().setSectionResizeMode(self.table.verticalHeader().ResizeMode.Fixed)
        self.addWidget(self.text)
        self.addWidget(self.table)
        self.result: Any = None

    def show_result(self, result: Any) -> None:
        self.result = result
        table = rows_of(result)
        if table is None:
            self.table.setModel(None)
            self.text.setPlainText(as_json(result))
            self.setCurrentIndex(0)
            return
        old = self.table.model()
        self.table.setModel(RowsModel(*table, parent=self.table))
        if old is not None:
            old.deleteLater()
        self.table.resizeColumnsToContents()
        for column in range(len(table[0])):
            self.table.setColumnWidth(column, min(self.table.columnWidth(column), 320))
        self.setCurrentIndex(1)

    def show_text(self, text: str) -> None:
        """Text that is not a result (a failure, an old run's preview)."""
        self.result = None
        self.table.setModel(None)
        self.text.setPlainText(text)
        self.setCurrentIndex(0)

    def is_table(self) -> bool:
        return self.currentIndex() == 1

    def columns(self) -> list[str]:
        model = self.table.model()
        return [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())] if model else []

    def cell(self, row: int, column: int) -> str:
        model = self.table.model()
        return model.data(model.index(row, column)) if model else ""

    def row_count(self) -> int:
        model = self.table.model()
        return model.rowCount() if model else 0
