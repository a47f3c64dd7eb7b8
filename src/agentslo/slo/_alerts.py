"""The multiwindow, multi-burn-rate alert recipe of the SRE Workbook.

The Site Reliability Workbook, chapter 5 "Alerting on SLOs", ends with its
recommended recipe (section "6: Multiwindow, Multi-Burn-Rate Alerts"): page when
the error budget burns 14.4x too fast over 1 h (and over the last 5 min), or 6x over
6 h (and 30 min); open a ticket at 3x over 1 d (and 2 h), or 1x over 3 d (and 6 h).
The long window makes an alert significant (each pair spends a fixed share of the
budget: 2 %, 5 %, 10 %, 10 %), the short window (1/12 of the long one) makes it
reset quickly once the problem is fixed.

Those windows are defined for a 30-day SLO. For another SLO window they are scaled
by ``window / 30d`` while the burn-rate thresholds are kept, so that each alert
still means "this share of the budget was spent": a burn rate ``b`` sustained for
``w`` spends ``b * w / window`` of the budget, and scaling ``w`` with ``window``
keeps that constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

__all__ = ["BASE_WINDOW", "WORKBOOK_ALERTS", "AlertWindow", "Severity", "alert_windows"]

Severity = Literal["page", "ticket"]

#: The SLO window the Workbook's alert windows are defined for.
BASE_WINDOW: Final = timedelta(days=30)


@dataclass(frozen=True)
class AlertWindow:
    """One burn-rate alert: fire when both windows burn at ``threshold`` or faster."""

    severity: Severity
    long_window: timedelta
    short_window: timedelta
    threshold: float
    slo_window: timedelta = BASE_WINDOW

    @property
    def budget_spent(self) -> float:
        """Share of the SLO window's error budget spent when the long window fires."""
        return self.threshold * (self.long_window / self.slo_window)


#: The Workbook's recipe for a 30-day SLO, most urgent first.
WORKBOOK_ALERTS: Final[tuple[AlertWindow, ...]] = (
    AlertWindow("page", timedelta(hours=1), timedelta(minutes=5), 14.4),
    AlertWindow("page", timedelta(hours=6), timedelta(minutes=30), 6.0),
    AlertWindow("ticket", timedelta(days=1), timedelta(hours=2), 3.0),
    AlertWindow("ticket", timedelta(days=3), timedelta(hours=6), 1.0),
)


def _scale(window: timedelta, factor: float) -> timedelta:
    # Whole seconds (Prometheus range selectors and humans both prefer them), never 0.
    return timedelta(seconds=max(1, round(window.total_seconds() * factor)))


def alert_windows(slo_window: timedelta) -> tuple[AlertWindow, ...]:
    """The Workbook's alerts scaled to ``slo_window`` (thresholds kept, windows scaled).

    For a 28-day window the page alert's 1 h / 5 min become 56 min / 4 min 40 s.
    """
    factor = slo_window / BASE_WINDOW
    return tuple(
        AlertWindow(
            a.severity,
            _scale(a.long_window, factor),
            _scale(a.short_window, factor),
            a.threshold,
            slo_window,
        )
        for a in WORKBOOK_ALERTS
    )
