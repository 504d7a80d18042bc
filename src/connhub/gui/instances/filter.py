"""Filter-as-you-type over the instance list: the rows that match, computed in Python, handed to the view."""

from __future__ import annotations

from PySide6.QtCore import QAbstractProxyModel, QModelIndex, QPersistentModelIndex

from connhub.gui.instances.models import Roles

_NO_PARENT = QModelIndex()


class InstanceFilter(QAbstractProxyModel):
    """Filter-as-you-type over name, type, summary and tags, optionally one type only, over an
    `InstanceListModel` (which keeps the rows sorted).

    Not a QSortFilterProxyModel: that calls `filterAcceptsRow` from C++ once per source row on every keystroke,
    and at 10,000 rows those crossings alone made each key lag. Here the rows that match are computed in one
    Python pass (a narrower filter only re-checks the rows that matched before), and Qt calls back only for
    the rows the view shows. Current and selected rows survive a filter change (persistent indexes are moved
    by record id)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._words: list[str] = []
        self._type: str | None = None
        self._rows: list[int] | None = None  # proxy row → source row; None: every source row, in order
        self._size = 0  # rows shown (see _set_rows)
        self._proxy_of: dict[int, int] = {}
        self._saved: list[tuple[QModelIndex, str | None]] = []
        self._connections: list = []

    # --- the filter -------------------------------------------------------------------------------------

    def set_text(self, text: str) -> None:
        words = text.lower().split()
        if words == self._words:
            return  # a space typed, or the same filter again: nothing to redo over every row
        narrower = self._rows is not None and len(words) >= len(self._words) and all(
            old in new for old, new in zip(self._words, words))
        self._words = words
        self._refilter(narrower)

    def set_type(self, type_name: str | None) -> None:
        if type_name == self._type:
            return
        self._type = type_name
        self._refilter(False)

    def filterAcceptsRow(self, source_row: int, source_parent=QModelIndex()) -> bool:
        model = self.sourceModel()
        if self._type and model.type_at(source_row) != self._type:
            return False
        haystack = model.search_text(source_row)
        return all(word in haystack for word in self._words)

    def _matching(self, candidates: list[int] | None) -> list[int] | None:
        """The source rows that pass, in one pass over plain lists (no call per row)."""
        model = self.sourceModel()
        if model is None:
            return []
        if not self._words and not self._type:
            return None
        rows = range(model.rowCount()) if candidates is None else candidates
        if self._type:
            types, wanted = model.types(), self._type
            rows = [row for row in rows if types[row] == wanted]
        haystacks = model.search_texts()
        for word in self._words:
            rows = [row for row in rows if word in haystacks[row]]
        return list(rows)

    def _set_rows(self, rows: list[int] | None) -> None:
        """After every change of the filter or the source: which source rows show, and how many."""
        self._rows = rows
        self._proxy_of = {} if rows is None else {source: proxy for proxy, source in enumerate(rows)}
        model = self.sourceModel()
        self._size = len(rows) if rows is not None else model.rowCount() if model is not None else 0

    def _refilter(self, narrower: bool) -> None:
        self._layout_about_to_change()
        self._set_rows(self._matching(self._rows if narrower else None))
        self._layout_changed()

    # --- keeping current and selected rows across changes -----------------------------------------------

    def _layout_about_to_change(self) -> None:
        self.layoutAboutToBeChanged.emit()
        model = self.sourceModel()
        saved = []
        for index in self.persistentIndexList():
            source = self.mapToSource(index)
            saved.append((index, model.data(source, Roles.ID) if source.isValid() else None))
        self._saved = saved

    def _layout_changed(self) -> None:
        model = self.sourceModel()
        old, new = [], []
        for index, instance_id in self._saved:
            row = model.row_of(instance_id) if instance_id is not None and model is not None else None
            old.append(index)
            new.append(self.mapFromSource(model.index(row, 0)) if row is not None else QModelIndex())
        self._saved = []
        if old:
            self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    # --- following the source model ---------------------------------------------------------------------

    def setSourceModel(self, model) -> None:
        self.beginResetModel()
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections = []
        super().setSourceModel(model)
        if model is not None:
            for signal, slot in ((model.modelAboutToBeReset, self.beginResetModel),
                                 (model.modelReset, self._source_reset),
                                 (model.rowsAboutToBeInserted, self._source_about_to_change),
                                 (model.rowsInserted, self._source_changed),
                                 (model.rowsAboutToBeRemoved, self._source_about_to_change),
                                 (model.rowsRemoved, self._source_changed),
                                 (model.rowsAboutToBeMoved, self._source_about_to_change),
                                 (model.rowsMoved, self._source_changed),
                                 (model.layoutAboutToBeChanged, self._source_about_to_change),
                                 (model.layoutChanged, self._source_changed),
                                 (model.dataChanged, self._source_data_changed)):
                signal.connect(slot)
                self._connections.append((signal, slot))
        self._set_rows(self._matching(None))
        self.endResetModel()

    def _source_reset(self) -> None:
        self._set_rows(self._matching(None))
        self.endResetModel()

    def _source_about_to_change(self, *_args) -> None:
        self._layout_about_to_change()

    def _source_changed(self, *_args) -> None:
        self._set_rows(self._matching(None))
        self._layout_changed()

    def _source_data_changed(self, top_left, bottom_right, roles=()) -> None:
        rows = range(top_left.row(), bottom_right.row() + 1)
        if self._rows is not None and any((row in self._proxy_of) != self.filterAcceptsRow(row) for row in rows):
            self._refilter(False)  # a row now matches, or no longer does
            return
        shown = [self._proxy_of[row] if self._rows is not None else row for row in rows
                 if self._rows is None or row in self._proxy_of]
        if shown:
            self.dataChanged.emit(self.index(min(shown), 0), self.index(max(shown), 0), list(roles or []))

    # --- QAbstractProxyModel ----------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else self._size

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else 1

    def index(self, row: int, column: int = 0, parent: QModelIndex | QPersistentModelIndex = _NO_PARENT):
        # Called from C++ for every shown row when the view lays out: kept to the bare minimum.
        if column or row < 0 or row >= self._size or parent.isValid():
            return QModelIndex()
        return self.createIndex(row, 0)

    def parent(self, index=None):
        if index is None:  # QObject.parent()
            return super().parent()
        return QModelIndex()

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:
        return not parent.isValid() and self.rowCount() > 0

    def sibling(self, row: int, column: int, index) -> QModelIndex:
        return self.index(row, column)

    def mapToSource(self, proxy_index) -> QModelIndex:
        model = self.sourceModel()
        if model is None or not proxy_index.isValid():
            return QModelIndex()
        row = proxy_index.row() if self._rows is None else self._rows[proxy_index.row()]
        return model.index(row, 0)

    def mapFromSource(self, source_index) -> QModelIndex:
        if not source_index.isValid():
            return QModelIndex()
        row = source_index.row() if self._rows is None else self._proxy_of.get(source_index.row())
        return self.createIndex(row, 0) if row is not None else QModelIndex()
