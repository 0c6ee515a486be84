"""Who may call what: bearer tokens, roles, and the per-token rate limit.

401 means "who are you?", 403 "not with this role"; a resource of another sender is 404, as if
it did not exist, so a client token cannot probe for other people's verdicts or holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from missend.api.services import Services, services
from missend.api.tokens import Principal, Role

bearer = HTTPBearer(auto_error=False, description="An API token from `missend token create`.")


def too_many(wait: float) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        "too many requests; slow down",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit_anonymous(request: Request, svc: Annotated[Services, Depends(services)]) -> None:
    """Endpoints without a token (signed links) are limited per client address."""
    wait = svc.anonymous.hit(f"ip:{client_key(request)}")
    if wait is not None:
        raise too_many(wait)


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    svc: Annotated[Services, Depends(services)],
) -> Principal:
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "a valid API token is required (Authorization: Bearer TOKEN)",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized
    found = svc.tokens.authenticate(credentials.credentials)
    if found is None:
        wait = svc.anonymous.hit(f"bad-token:{client_key(request)}")
        if wait is not None:
            raise too_many(wait)
        raise unauthorized
    wait = svc.limiter.hit(f"token:{found.token_id}")
    if wait is not None:
        raise too_many(wait)
    return found


def require(*roles: Role) -> Callable[..., Principal]:
    allowed = frozenset(roles) | {Role.ADMIN}

    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role not in allowed:
            names = " or ".join(sorted(str(r) for r in allowed))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs a token with role {names}")
        return who

    return check


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no such {what}")


Svc = Annotated[Services, Depends(services)]
Client = Annotated[Principal, Depends(require(Role.CLIENT))]
Anyone = Annotated[Principal, Depends(require(Role.OFFICER, Role.CLIENT))]
Officer = Annotated[Principal, Depends(require(Role.OFFICER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
