"""The Actions tab of the detail pane: a type's actions, their params form, a run, its result and the log."""
