"""The window's left and middle columns: the types sidebar (with its search) and the connections list (with
its filter and the "no connections yet" page). Built on the window, which keeps the widgets as attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListView,
    QStackedWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from connhub.gui.instances.delegate import ROW_HEIGHT, InstanceDelegate
from connhub.gui.instances.models import Roles, type_tree_model

if TYPE_CHECKING:
    from connhub.gui.shell.main_window import MainWindow


def _column(*widgets: QWidget) -> QWidget:
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widgets[0])
    layout.addWidget(widgets[1], 1)
    return column


def build_type_sidebar(w: MainWindow) -> QWidget:
    w.types_view = QTreeView()
    w.types_view.setHeaderHidden(True)
    w.types_view.setAccessibleName("Integration types")
    w.types_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    w.types_proxy = QSortFilterProxyModel(w)
    w.types_proxy.setRecursiveFilteringEnabled(True)  # a matching type keeps its group heading
    w.types_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    w.types_view.setModel(w.types_proxy)
    reload_types(w)
    w.type_search = QLineEdit()
    w.type_search.setPlaceholderText("Search types")
    w.type_search.setAccessibleName("Search integration types")
    w.type_search.textChanged.connect(lambda text: filter_types(w, text))
    return _column(w.type_search, w.types_view)


def reload_types(w: MainWindow) -> None:
    w.types_proxy.setSourceModel(type_tree_model(w.model.catalog))
    w.types_view.expandAll()
    if w.types_view.selectionModel():
        w.types_view.selectionModel().currentChanged.connect(
            lambda current, _previous=None: w.proxy.set_type(current.data(Roles.TYPE) if current.isValid() else None))


def filter_types(w: MainWindow, text: str) -> None:
    w.types_proxy.setFilterFixedString(text.strip())
    w.types_view.expandAll()


def build_list(w: MainWindow) -> QWidget:
    w.search = QLineEdit()
    w.search.setPlaceholderText("Filter by name, type, host or tag  (Ctrl+F)")
    w.search.setAccessibleName("Filter connections")
    w.search.textChanged.connect(w.proxy.set_text)
    previous = [""]  # what the box held before this edit: a paste of a whole URL is quick connect

    def edited(text: str) -> None:
        w.instance_actions.search_edited(previous[0], text)
        previous[0] = w.search.text()

    w.search.textEdited.connect(edited)
    w.list_view = QListView()
    w.list_view.setModel(w.proxy)
    w.list_view.setItemDelegate(InstanceDelegate(w.list_view))
    w.list_view.setUniformItemSizes(True)
    # Rows as tall as the delegate's and as wide as the view, on a grid: Qt then lays them out without
    # asking the model (a Python call through the filter) for each row's size, a call fewer per row before
    # the first paint, and no row is wider than the view (no horizontal scroll bar).
    w.list_view.setGridSize(QSize(1, ROW_HEIGHT))
    w.list_view.setAccessibleName("Connections")
    w.list_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    w.list_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)  # rename: F2 (an action)
    w.empty_label = QLabel("No connections yet.\nPress New (Ctrl+N) to add your first one.")
    w.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    w.list_stack = QStackedWidget()
    w.list_stack.addWidget(w.list_view)
    w.list_stack.addWidget(w.empty_label)
    return _column(w.search, w.list_stack)


def detail_after_list_in_tab_order(w: MainWindow) -> None:
    """Tab goes from the list to the detail pane, as it did when the pane was built with the window: a pane
    built later joins the end of the window's focus chain (after the toolbar)."""
    pane, widget, chain = w._detail, w.nextInFocusChain(), []
    while widget is not w:
        if pane.isAncestorOf(widget) and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            chain.append(widget)
        widget = widget.nextInFocusChain()
    for first, second in zip([w.list_view, *chain], chain):
        QWidget.setTabOrder(first, second)


def empty_detail() -> QLabel:
    """The detail pane's "nothing selected" page, standing in for the pane until it is built."""
    label = QLabel("Select a connection to see its details,\nor press Ctrl+N to add one.")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setObjectName("emptyDetail")
    label.setMinimumWidth(300)
    return label


def build_detail(w: MainWindow):
    """The right-hand pane in the placeholder's place, its buttons wired to the window's actions."""
    from connhub.gui.instances.detail_pane import DetailPane

    sizes = w.splitter.sizes()
    pane = DetailPane(w.hub.registry, w._empty_detail)  # takes the placeholder as its first page
    w.splitter.insertWidget(2, pane)
    w.splitter.setSizes(sizes)
    actions = w.instance_actions
    pane.test_clicked.connect(w.single_test.start_selected)
    pane.edit_clicked.connect(actions.edit_selected)
    pane.duplicate_clicked.connect(actions.duplicate_selected)
    pane.delete_clicked.connect(actions.delete_selected)
    pane.test_panel.cancel_requested.connect(w.cancel_test)
    from connhub.gui.actions.panel import ActionsPanel

    pane.add_tab(ActionsPanel(lambda: w.hub.actions), "Actions")  # given the actions service, never the Hub
    from connhub.gui.events.view import WebhooksView

    pane.add_tab(WebhooksView(lambda: w.hub.webhooks, w.hub.registry), "Webhooks")  # types that sign webhooks
    from connhub.gui.instances.plugin_hook import PluginHookFact

    pane.add_fact("Plugin", PluginHookFact(lambda: w.hub.plugin_hooks))  # a failed hook, and Retry
    w._detail = pane
    detail_after_list_in_tab_order(w)
    return pane
