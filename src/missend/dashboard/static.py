"""The dashboard's own stylesheet and script, served from the package: nothing from elsewhere."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter()
_TYPES = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
_CACHE: dict[str, bytes] = {}


@router.get("/static/{name}")
def static(name: str) -> Response:
    media = _TYPES.get(name)
    if media is None:
        return Response("not found", status_code=404, media_type="text/plain")
    if name not in _CACHE:
        _CACHE[name] = files("missend.dashboard").joinpath("static", name).read_bytes()
    return Response(
        _CACHE[name],
        media_type=media,
        headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
