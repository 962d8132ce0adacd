"""``/api/v1/api-keys``: service keys (device keys are made under ``/api/v1/assets/{id}/keys``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from gridpilot.auth import audit, service
from gridpilot.auth.dependencies import api_key_cache, require
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.auth.revocation import rights_cache
from gridpilot.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from gridpilot.db.dependencies import SessionDep

router = APIRouter(prefix="/api-keys", tags=["auth"])

ApiKeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]
KeyManager = Annotated[Principal, Depends(require(Permission.KEYS_MANAGE))]


@router.get("", response_model=list[ApiKeyOut], summary="List API keys (service and device)")
async def list_keys(principal: KeyManager, session: SessionDep) -> list[ApiKeyOut]:
    keys = await service.list_api_keys(session=session, actor=principal)
    return [ApiKeyOut.model_validate(k) for k in keys]


@router.post("", response_model=ApiKeyCreated, status_code=201, summary="Create a service key")
async def create_key(
    body: ApiKeyCreate, principal: KeyManager, session: SessionDep
) -> ApiKeyCreated:
    """The raw key is in ``key`` and is shown only in this response. An administrator limited
    to some sites must give one of them as ``site_id``."""
    async with audit.failures_recorded(session, action="key.create", actor=principal):
        if body.site_id is not None:
            principal.check_site(body.site_id)
            await service.check_sites_exist(session=session, site_ids=[body.site_id])
        key, raw = await service.create_api_key(
            session=session,
            name=body.name,
            role=body.role,
            site_id=body.site_id,
            created_by=principal.user_id,
            actor=principal,
        )
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=raw)


@router.delete("/{api_key_id}", status_code=204, summary="Revoke an API key")
async def revoke_key(
    api_key_id: ApiKeyId, request: Request, principal: KeyManager, session: SessionDep
) -> Response:
    """Revoked at once in this process; other processes stop trusting it within 30 s, and
    access tokens it obtained by client_credentials within ``GRIDPILOT_AUTH_RECHECK_S``."""
    async with audit.failures_recorded(
        session, action="key.revoke", actor=principal, target=f"api_key:{api_key_id}"
    ):
        await service.revoke_api_key(
            session=session,
            api_key_id=api_key_id,
            cache=api_key_cache(request.app),
            actor=principal,
        )
    await session.commit()
    rights_cache(request.app).forget_key(api_key_id)
    return Response(status_code=204)
