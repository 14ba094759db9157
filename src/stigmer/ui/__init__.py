"""The web dashboard (`stigmer ui`): resources, executions live, and the actions people take.

It reads and writes through the same Backend protocol as the CLI; its pages and scripts are
bundled in ``static/`` (no CDN, no network beyond the dashboard's own address).
"""

from stigmer.ui.dashboard import DEFAULT_UI_PORT, Dashboard, DashboardOptions

__all__ = ["DEFAULT_UI_PORT", "Dashboard", "DashboardOptions"]
