"""The built web app (``web/dist``, ``scripts/web.sh build``), served same-origin.

Served from the control plane so the ops console calls ``/v1/ops`` with no CORS
and the world page calls ``/v1/auth``, ``/v1/join`` and chat history the same
way. Three static routers over ``Settings.web_dir`` (``PLAZA_WEB_DIR``):

- ``/play/`` the world, ``/console/`` the ops console: ``index.html`` (and any
  other file of ``<web_dir>/play`` / ``<web_dir>/console``), ``Cache-Control:
  no-cache`` so a rebuilt app is picked up on the next load;
- ``/assets/`` the bundles (``<web_dir>/assets``), whose names carry a content
  hash (esbuild ``[name]-[hash]``): ``public, max-age=31536000, immutable``.

No directory listing (a directory answers its ``index.html`` or 404), content
types from the file name, ``X-Content-Type-Options: nosniff`` and a
Content-Security-Policy allowing only this origin (plus WebSockets to the
relays): no CDN can be loaded at run time. ``HEAD`` answers like ``GET``
without the body everywhere, the pages' folder index (``/play/``,
``/console/``) included (Litestar's own index route is GET only). An empty ``web_dir``, or one that
does not exist, mounts nothing (the API is unchanged); a missing
sub-folder mounts nothing for it.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import structlog
from litestar import Response, head
from litestar.datastructures import CacheControlHeader
from litestar.file_system import BaseLocalFileSystem
from litestar.handlers import HTTPRouteHandler
from litestar.response.base import ASGIResponse
from litestar.response.file import ASGIFileResponse
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.static_files.base import StaticFiles

_log = structlog.get_logger("plaza.web")

#: The pages: URL path -> sub-folder of ``web_dir``.
PAGES = {"/play": "play", "/console": "console"}
ASSETS_PATH = "/assets"
#: Relays are on other origins (their public URL): WebSockets anywhere, all
#: else from this origin only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_PAGE_CACHE = CacheControlHeader(no_cache=True)
_ASSET_CACHE = CacheControlHeader(public=True, max_age=31536000, immutable=True)


def _head_content_type(response: ASGIResponse) -> None:
    """Give a HEAD answer the ``Content-Type`` its GET has.

    Litestar leaves it out of bodiless answers; a file answer names its file in
    ``Content-Disposition`` (``inline; filename="index.html"``), which gives
    the type as for the GET.
    """
    if not response.is_head_response or "content-type" in response.headers:
        return
    disposition = response.headers.get("content-disposition", "")
    _, _, quoted = disposition.partition('filename="')
    media_type, _ = mimetypes.guess_type(quoted.rstrip('"'))
    if media_type:
        charset = f"; charset={response.encoding}" if media_type.startswith("text/") else ""
        response.headers["Content-Type"] = media_type + charset


async def _security_headers(response: Response) -> Response:  # type: ignore[type-arg]
    if isinstance(response, ASGIResponse):
        _head_content_type(response)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _head_index(folder: Path, cache: CacheControlHeader, name: str) -> HTTPRouteHandler:
    """``HEAD /`` of a page folder: its ``index.html`` headers, no body."""
    files = StaticFiles(
        is_html_mode=True,
        directories=[folder],
        file_system=BaseLocalFileSystem(),
        headers={cache.HEADER_NAME: cache.to_header()},
    )

    @head("/", name=f"{name}/index-head")
    async def head_index() -> ASGIFileResponse:
        return await files.handle(path="/", is_head_response=True)

    return head_index


def web_routers(web_dir: str) -> list[Router]:
    """The routers for ``web_dir``; none when it is empty or not a directory."""
    if not web_dir:
        return []
    root = Path(web_dir)
    if not root.is_dir():
        _log.warning("web_dir is not a directory; the web app is not served", web_dir=web_dir)
        return []
    routers: list[Router] = []
    mounts = [(path, sub, _PAGE_CACHE, True) for path, sub in PAGES.items()]
    mounts.append((ASSETS_PATH, "assets", _ASSET_CACHE, False))
    for path, sub, cache, html in mounts:
        folder = root / sub
        if not folder.is_dir():
            _log.warning("web app folder missing; not served", path=path, folder=str(folder))
            continue
        name = f"web{path.replace('/', '-')}"
        router = create_static_files_router(
            path=path,
            directories=[folder],
            html_mode=html,
            name=name,
            cache_control=cache,
            after_request=_security_headers,
            include_in_schema=False,
        )
        if html:
            router.register(_head_index(folder, cache, name))
        routers.append(router)
    return routers
