"""The admin dashboard: server-rendered pages for officers and admins on the API's own app.

`create_app` includes `router()`; every page reaches the shared services through the same
`Services` object as the API, so a release or an incident change here is the same operation,
with the same audit entries, as through `/v1`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from missend.dashboard import holds, incidents, login, static, trends_page
from missend.dashboard.settings import DashboardSettings
from missend.dashboard.web import PREFIX, settings_dependency


def router(settings: DashboardSettings | None = None) -> APIRouter:
    """The dashboard's routes under /dashboard; settings default to the environment's."""
    chosen = settings or DashboardSettings.from_env()
    pages = APIRouter(
        prefix=PREFIX,
        include_in_schema=False,
        dependencies=[Depends(settings_dependency(chosen))],
    )
    for module in (login, holds, incidents, trends_page, static):
        pages.include_router(module.router)
    return pages


__all__ = ["DashboardSettings", "router"]
