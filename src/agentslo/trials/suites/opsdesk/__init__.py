"""``opsdesk``: long-horizon operations tasks in one simulated business.

Customers, orders, stock in two warehouses, refunds under a written policy,
service deployments and incident tickets (see ``world.POLICY``). Registered through
the ``agentslo.suites`` entry point and the :func:`~agentslo.trials.suite` decorator.
"""

from agentslo.trials.registry import suite
from agentslo.trials.suites.opsdesk.tasks import TEMPLATES, opsdesk_tasks
from agentslo.trials.suites.opsdesk.world import POLICY, OpsDesk
from agentslo.trials.task import Task

__all__ = ["POLICY", "TEMPLATES", "OpsDesk", "opsdesk", "opsdesk_tasks"]


@suite("opsdesk")
def opsdesk() -> list[Task]:
    """The built-in opsdesk suite."""
    return opsdesk_tasks()
