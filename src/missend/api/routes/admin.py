"""Tokens (admin) and the audit log (officers and admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response

from missend.api.auth import Admin, Officer, Svc, not_found
from missend.api.schemas import (
    AuditEntryOut,
    AuditVerifyOut,
    Problem,
    TokenCreate,
    TokenIssued,
    TokenOut,
)
from missend.api.tokens import TokenError, TokenInfo

router = APIRouter(prefix="/v1", tags=["admin"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    429: {"model": Problem},
}


def _token(info: TokenInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "role": str(info.role),
        "sender": info.sender,
        "label": info.label,
        "created_at": info.created_at,
        "created_by": info.created_by,
        "revoked_at": info.revoked_at,
    }


@router.post(
    "/tokens",
    response_model=TokenIssued,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 422: {"model": Problem}},
    tags=["admin"],
    summary="Create an API token (shown once)",
)
def create_token(
    *,
    body: TokenCreate,
    who: Admin,
    svc: Svc,
) -> TokenIssued:
    try:
        issued = svc.tokens.create(body.role, sender=body.sender, label=body.label, by=who.actor)
    except TokenError as exc:
        raise HTTPException(422, str(exc)) from exc
    svc.audit.record(who.actor, "token.create", issued.info.id, {"role": body.role})
    return TokenIssued(**_token(issued.info), token=issued.token)


@router.get("/tokens", response_model=list[TokenOut], responses=_ERRORS, summary="List tokens")
def list_tokens(*, who: Admin, svc: Svc) -> list[TokenOut]:
    return [TokenOut(**_token(info)) for info in svc.tokens.list()]


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**_ERRORS, 404: {"model": Problem}},
    summary="Revoke a token",
)
def revoke_token(
    *,
    token_id: str,
    who: Admin,
    svc: Svc,
) -> Response:
    if len(token_id) > 16 or not svc.tokens.revoke(token_id):
        raise not_found("active token")
    svc.audit.record(who.actor, "token.revoke", token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/audit", response_model=list[AuditEntryOut], responses=_ERRORS, summary="Read the audit log"
)
def audit_entries(
    *,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    who: Officer,
    svc: Svc,
) -> list[AuditEntryOut]:
    return [AuditEntryOut(**e.to_dict()) for e in svc.audit.entries(after, limit)]


@router.get(
    "/audit/verify",
    response_model=AuditVerifyOut,
    responses=_ERRORS,
    summary="Check the audit log's hash chain",
)
def audit_verify(*, who: Officer, svc: Svc) -> AuditVerifyOut:
    result = svc.audit.verify()
    return AuditVerifyOut(
        ok=result.ok, entries=result.entries, first_bad=result.first_bad, reason=result.reason
    )
