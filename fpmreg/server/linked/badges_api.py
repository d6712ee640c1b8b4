"""`GET /badges/...`: README badges as SVG, and the snippets the package page offers to
copy (docs/badges.md). Errors are the JSON API's envelope (`http.API_PREFIX`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from markupsafe import escape

from fpmreg.core.wire.communities import VerdictRecord
from fpmreg.server.linked.badges_facts import KIND_PATTERN, KINDS, badge_for, policy_badge, subject
from fpmreg.server.linked.credentials_api import SlugPath
from fpmreg.server.openapi import api_errors, binary, not_modified
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.schemas import NamePath, NamespacePath, VersionPath

SVG = "image/svg+xml"
# Counts and builds change: shields.io's own default is five minutes, and camo (GitHub's
# image proxy) honours it. A 304 costs one query.
CACHE_CONTROL = "public, max-age=300"
# The badge is an image: it needs no script, style sheet or font of ours. Other sites'
# READMEs embed it, so it may be loaded cross-origin.
SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": CACHE_CONTROL,
}
# The URL of a release's build credential, served by `linked/credentials*` (agreed URL).
CREDENTIAL_PATH = "/credentials/{namespace}/{name}/{version}/build"

KindPath = Annotated[
    str,
    Path(
        description="one of " + ", ".join(f"`{k}`" for k in KINDS),
        examples=["version"],
        json_schema_extra={"pattern": KIND_PATTERN},
    ),
]

router = APIRouter(prefix="/badges", tags=["badges"])
BADGE_DOC: dict[str, Any] = {
    "response_class": Response,
    "responses": {**binary(SVG, "The badge"), **not_modified(), **api_errors(400, 404, 410)},
}


def _svg_response(request: Request, body: str) -> Response:
    data = body.encode()
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {**SVG_HEADERS, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=SVG, headers=headers)


@router.get(
    "/{namespace}/{name}/policies/{community}/{policy}.svg",
    summary="A README badge of a community policy's verdict",
    **BADGE_DOC,
)
def package_policy_badge(
    namespace: NamespacePath, name: NamePath, community: SlugPath, policy: SlugPath,
    request: Request, packages: PackagesDep,
) -> Response:  # fmt: skip
    """Whether the newest version that is not yanked passes the policy: `passed`,
    `failed` or `not evaluated`, by the registry's signed verdict."""
    found = subject(packages, namespace, name)
    return _svg_response(request, policy_badge(packages.session, found, community, policy).svg())


@router.get(
    "/{namespace}/{name}/{version}/policies/{community}/{policy}.svg",
    summary="A README badge of a community policy's verdict on one version",
    **BADGE_DOC,
)
def version_policy_badge(
    namespace: NamespacePath, name: NamePath, version: VersionPath, community: SlugPath,
    policy: SlugPath, request: Request, packages: PackagesDep,
) -> Response:  # fmt: skip
    """Whether that version passes the policy."""
    found = subject(packages, namespace, name, version)
    return _svg_response(request, policy_badge(packages.session, found, community, policy).svg())


@router.get("/{namespace}/{name}/{kind}.svg", summary="A README badge", **BADGE_DOC)
def package_badge(
    namespace: NamespacePath, name: NamePath, kind: KindPath, request: Request,
    packages: PackagesDep,
) -> Response:  # fmt: skip
    """The `kind` badge of the package's newest version that is not yanked (`version`,
    `downloads` all time, `license`, `build` verification). `If-None-Match` gives 304."""
    found = subject(packages, namespace, name)
    return _svg_response(request, badge_for(packages.session, found, kind).svg())


@router.get(
    "/{namespace}/{name}/{version}/{kind}.svg",
    summary="A README badge of one version",
    **BADGE_DOC,
)
def version_badge(
    namespace: NamespacePath, name: NamePath, version: VersionPath, kind: KindPath,
    request: Request, packages: PackagesDep,
) -> Response:  # fmt: skip
    """The `kind` badge of one version (`downloads` of that version only)."""
    found = subject(packages, namespace, name, version)
    return _svg_response(request, badge_for(packages.session, found, kind).svg())


@dataclass(frozen=True, slots=True)
class Snippet:
    """One badge on the package page: its image and what to paste into a README."""

    kind: str
    image: str  # the absolute URL of the SVG
    link: str  # where the badge leads
    alt: str

    @property
    def markdown(self) -> str:
        """`[![alt](image)](link)`; brackets in `alt` are escaped."""
        alt = self.alt.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        return f"[![{alt}]({self.image})]({self.link})"

    @property
    def html(self) -> str:
        """An `<a>` around an `<img>`, every attribute escaped."""
        return (
            f'<a href="{escape(self.link)}"><img src="{escape(self.image)}" '
            f'alt="{escape(self.alt)}"></a>'
        )


def badge_snippets(base_url: str, package: Package, shown: Version) -> list[Snippet]:
    """The badges the package page offers: the package's (they follow new releases)
    and the shown version's build, which links to that release's credential."""
    ns, name = package.namespace.name, package.name
    page = f"{base_url}/project/{ns}/{name}"
    root = f"{base_url}/badges/{ns}/{name}"
    credential = base_url + CREDENTIAL_PATH.format(namespace=ns, name=name, version=shown.version)
    return [
        Snippet("version", f"{root}/version.svg", page, f"{ns}/{name} on fpmreg"),
        Snippet("downloads", f"{root}/downloads.svg", page, f"{ns}/{name} downloads"),
        Snippet("license", f"{root}/license.svg", page, f"{ns}/{name} license"),
        Snippet(
            "build",
            f"{root}/{shown.version}/build.svg",
            credential,
            f"{ns}/{name} {shown.version} build verification",
        ),
    ]


def policy_snippets(
    base_url: str, package: Package, shown: Version, verdicts: Iterable[VerdictRecord]
) -> list[Snippet]:
    """A badge per community policy with a current verdict on the shown version; it links
    to the release's credential for that policy when the verdict passed, else to the
    verdict itself (docs/badges.md, "Policy verdicts")."""
    ns, name = package.namespace.name, package.name
    credential = base_url + CREDENTIAL_PATH.format(namespace=ns, name=name, version=shown.version)
    snippets = []
    for verdict in sorted(verdicts, key=lambda v: (v.community, v.policy)):
        community, policy = verdict.community, verdict.policy.rpartition("/")[2]
        passed = verdict.result == "PASSED"
        link = credential.removesuffix("/build") + f"/policies/{community}/{policy}"
        image = f"{base_url}/badges/{ns}/{name}/{shown.version}/policies/{community}/{policy}.svg"
        alt = f"{ns}/{name} {shown.version}: policy {policy} of {community}"
        kind = f"policy-{community}-{policy}"
        snippets.append(Snippet(kind, image, link if passed else verdict.uri, alt))
    return snippets
