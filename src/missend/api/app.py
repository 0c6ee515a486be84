"""The FastAPI application: `create_app(config, store)` builds it with everything passed in.

Later pages (the dashboard) are further routers: `app.include_router(...)`, reaching the shared
objects through `missend.api.services.services(request)`.
"""

from __future__ import annotations

import logging
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from missend import __version__
from missend.api.bodylimit import BodyLimit
from missend.api.routes import admin, check, holds, incidents
from missend.api.schemas import DraftIn
from missend.api.services import Services
from missend.api.settings import ServiceSettings
from missend.config import Config
from missend.dashboard import router as dashboard_router
from missend.history.store import Store, StoreError

log = logging.getLogger(__name__)

DESCRIPTION = """\
Check outgoing e-mail before Send and keep the breach register.

Authenticate with `Authorization: Bearer TOKEN` (tokens come from `missend token create`).
Roles: `client` checks and decides for its own sender, `officer` handles holds and incidents,
`admin` does everything and manages tokens. Errors are `{"detail": ...}` with a plain message.
"""


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and what, without echoing the input back (it may hold personal data)."""
    out: list[dict[str, Any]] = []
    for error in exc.errors()[:20]:
        out.append(
            {
                "loc": [str(p) for p in error.get("loc", ())],
                "msg": str(error.get("msg", "invalid value")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return out


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_errors(exc)}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(StoreError)
    @app.exception_handler(SQLAlchemyError)
    async def store_down(_: Request, exc: Exception) -> JSONResponse:
        log.error("store unavailable: %s", type(exc).__name__)
        return JSONResponse(
            {"detail": "missend cannot reach its store; try again later"},
            status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "30"},
        )

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed", exc_info=exc)
        return JSONResponse(
            {"detail": "internal error; it has been logged"},
            status.HTTP_500_INTERNAL_SERVER_ERROR,
        )


def _document_draft(app: FastAPI) -> None:
    """`/v1/check` reads its body itself (JSON or message/rfc822), so its JSON model is added here."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            draft = DraftIn.model_json_schema(
                by_alias=True, ref_template="#/components/schemas/{model}"
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(draft.pop("$defs", {}))
            schemas["DraftIn"] = draft
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    config: Config,
    store: Store,
    settings: ServiceSettings | None = None,
    *,
    secret: bytes | None = None,
    history_ttl: float = 30.0,
    hasher: PasswordHasher | None = None,
) -> FastAPI:
    """The API over an open store; `secret` (hold.secret_file) enables the signed hold links.

    `hasher` sets the argon2id cost of new tokens (tests use a cheap one); verification reads
    the cost from each stored hash.
    """
    settings = settings or ServiceSettings()
    app = FastAPI(
        title="missend",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = Services.build(config, store, settings, secret, history_ttl, hasher)
    _install_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    app.include_router(check.router)
    app.include_router(holds.links)
    app.include_router(holds.router)
    app.include_router(incidents.router)
    app.include_router(admin.router)
    app.include_router(dashboard_router())

    _document_draft(app)

    @app.get("/healthz", tags=["meta"], summary="Liveness and store reachability")
    def healthz() -> dict[str, str]:
        try:
            with store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise StoreError(f"health check failed ({type(exc).__name__})") from exc
        return {"status": "ok"}

    return app
