"""One table for every benchmark: Markdown rows that README's "Performance" section quotes as printed."""

from __future__ import annotations

HEADER = ("| measure | baseline | connhub | ratio | goal | met |\n"
          "|---|---:|---:|---:|---|:---:|")


def header() -> None:
    print(HEADER, flush=True)


def row(measure: str, baseline: str, ours: str, ratio: float | None, goal: str, met: bool | None) -> None:
    """`met` None: a figure shown for context, with no goal to meet."""
    ratio_text = f"{ratio:.2f}×" if ratio is not None else "—"
    met_text = "—" if met is None else "yes" if met else "**no**"
    print(f"| {measure} | {baseline} | {ours} | {ratio_text} | {goal} | {met_text} |", flush=True)


def seconds(value: float) -> str:
    return f"{value:.3f} s"


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"
