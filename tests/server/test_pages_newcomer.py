"""Issue 13, items 9-11: what a newcomer reads on package and search pages (keywords,
repository, maintainers, used by, yanked versions, downloads by client, highlighted
README code) and how search filters, counts and says when nothing is found."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.metrics.service import CountKey, DownloadsService
from fpmreg.server.packages.maintainers import MaintainerService
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.readme import render_readme
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_publisher, make_user, publish, unique

README = (
    "# Quad\n\n```fortran\nprogram demo\n  integer :: n = 3 ! three\nend program\n```\n\n"
    "```make\nall:\n\techo <b>\n```\n"
)


def fpm_toml(
    name: str, version: str, *, license: str = "MIT", top: str = "", tail: str = ""
) -> str:
    """An fpm.toml with top-level keys (`top`) before the tables, and tables (`tail`)."""
    return (
        f'name = "{name}"\nversion = "{version}"\nlicense = "{license}"\n'
        f'description = "The {name} package"\nauthor = "A. Fortran"\n{top}'
        f"[build]\nmodule-naming = true\n{tail}"
    )


def put(
    session: Session, store: BlobStore, who: Publisher, name: str, version: str = "1.0.0",
    **manifest: str,
) -> None:  # fmt: skip
    text = fpm_toml(name, version, **manifest)
    publish(session, store, who, name, version, files={"fpm.toml": text}, readme=README)


def names(page: str) -> list[str]:
    """`namespace/name` of each search result on a page, in order."""
    return re.findall(r'<a href="/project/([^"/]+/[^"/]+)"><strong>', page)


def test_search_filters_by_keyword_category_licence_and_namespace(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    a, b = make_publisher(session), make_publisher(session)
    quad, ode, json = unique("quad"), unique("ode"), unique("jsonf")
    put(session, store, a, quad, top='keywords = ["Quadrature", "integration"]\n'
        'categories = ["numerical"]\n')  # fmt: skip
    put(session, store, a, ode, license="MIT OR Apache-2.0",
        top='keywords = ["ode"]\ncategories = ["numerical"]\n')  # fmt: skip
    put(session, store, b, json, license="Apache-2.0", top='keywords = ["json", "io"]\n')
    ns_a, ns_b = a.namespace.name, b.namespace.name

    def found(query: str) -> set[str]:
        page = client.get(f"/search?{query}")
        assert page.status_code == 200, page.text
        return set(names(page.text))

    assert found("keyword=quadrature") == {f"{ns_a}/{quad}"}  # any case
    assert found("category=numerical") == {f"{ns_a}/{quad}", f"{ns_a}/{ode}"}
    assert found(f"category=numerical&namespace={ns_b}") == set()
    assert found("license=Apache-2.0") >= {f"{ns_a}/{ode}", f"{ns_b}/{json}"}
    assert f"{ns_a}/{quad}" not in found("license=Apache-2.0")
    assert found(f"license=mit&namespace={ns_a}") == {f"{ns_a}/{quad}", f"{ns_a}/{ode}"}
    assert found(f"namespace={ns_b}") == {f"{ns_b}/{json}"}
    # Free text finds keywords too, and the filters show as removable chips.
    assert found(f"q=integration&namespace={ns_a}") == {f"{ns_a}/{quad}"}
    page = client.get(f"/search?q=&keyword=json&namespace={ns_b}").text
    assert 'aria-label="Remove the keyword filter json"' in page
    assert f'href="/search?namespace={ns_b}"' in page  # the chip's link drops its filter


def test_search_results_show_download_counts(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    who = make_publisher(session)
    name = unique("counted")
    put(session, store, who, name)
    version = session.scalars(select(Version).join(Package).where(Package.name == name)).one()
    today = datetime.now(UTC).date()
    DownloadsService(session, SystemClock()).add_counts(
        {CountKey(version.id, today, "fpm", False): 1234}
    )
    session.commit()
    page = client.get(f"/search?namespace={who.namespace.name}").text
    assert '<span class="downloads-count">1,234 downloads</span>' in page


def test_empty_search_says_whether_nothing_matched_or_nothing_is_published(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    empty = client.get("/search?q=anything").text
    assert "No packages have been published on this registry yet" in empty
    assert 'href="/signup">Publish the first one' in empty
    put(session, store, make_publisher(session), unique("lonely"))
    missed = client.get("/search?q=nothing-like-this&license=GPL-3.0").text
    assert "No packages match “nothing-like-this”, licence “GPL-3.0”" in missed
    assert "see all 1 package</a>" in missed
    assert "published on this registry yet" not in missed


def test_a_filter_longer_than_any_value_is_refused_with_what_to_do(client: TestClient) -> None:
    page = client.get("/search?keyword=" + "k" * 101)
    assert page.status_code == 400
    assert "the <code>keyword</code> filter is 101 characters long" in page.text


def test_used_by_lists_packages_whose_newest_version_depends_on_it(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    who = make_publisher(session)
    ns = who.namespace.name
    base, user, dev, former = unique("base-lib"), unique("user"), unique("dev"), unique("old")
    put(session, store, who, base)
    spelled = base.replace("-", "_")  # fpm names `base_lib` and `base-lib` alike
    put(session, store, who, user, tail=f'[dependencies]\n{spelled} = {{ namespace = "{ns}" }}\n')
    put(session, store, who, dev, tail=f'[dev-dependencies]\n{base} = {{ namespace = "{ns}" }}\n')
    put(
        session,
        store,
        who,
        former,
        "1.0.0",
        tail=f'[dependencies]\n{base} = {{ namespace = "{ns}" }}\n',
    )
    put(session, store, who, former, "2.0.0")  # its newest version no longer uses it
    page = client.get(f"/project/{ns}/{base}").text
    used = re.search(r'<ul class="deps used-by"[^>]*>(.*?)</ul>', page, re.S)
    assert used, page
    assert re.findall(r'href="/project/([^"]+)"', used.group(1)) == [f"{ns}/{user}"]
    alone = client.get(f"/project/{ns}/{user}").text
    assert "No package's newest version depends on it yet." in alone


def test_package_page_shows_keywords_repository_and_maintainers(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    who = make_publisher(session)
    ns, name = who.namespace.name, unique("shown")
    put(
        session,
        store,
        who,
        name,
        top='keywords = ["quadrature"]\ncategories = ["numerical"]\n'
        'maintainer = "maint@example.org"\n',
        tail='[extra]\nrepository = "https://codeberg.org/someone/shown"\n',
    )
    helper = make_user(session)
    accounts = AccountsService(session, SystemClock())
    packages = PackagesService(session, SystemClock(), store)
    MaintainerService(accounts, packages).add_maintainer(who.user, ns, name, helper.username)
    session.commit()
    page = client.get(f"/project/{ns}/{name}").text
    assert 'href="/search?keyword=quadrature"' in page
    assert 'href="/search?category=numerical"' in page
    assert 'href="https://codeberg.org/someone/shown" rel="nofollow noopener"' in page
    assert "<dt>Maintainer</dt><dd>maint@example.org</dd>" in page
    people = re.search(r'<ul class="people"[^>]*>(.*?)</ul>', page, re.S)
    assert people, page
    assert (
        f'<a href="/user/{who.user.username}">{who.user.username}</a> <span class="muted">admin'
        in people.group(1)
    )
    assert f'{helper.username}</a> <span class="muted">package maintainer' in people.group(1)
    assert 'href="/search?license=MIT"' in page


def test_a_forge_homepage_is_the_repository_and_another_is_not(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    who = make_publisher(session)
    ns, forge, own = who.namespace.name, unique("forge"), unique("own")
    put(session, store, who, forge, top='homepage = "https://gitlab.com/group/forge"\n')
    put(session, store, who, own, top='homepage = "https://example.org/own"\n')
    assert "<dt>Repository</dt>" in client.get(f"/project/{ns}/{forge}").text
    page = client.get(f"/project/{ns}/{own}").text
    assert "<dt>Repository</dt>" not in page and "<dt>Homepage</dt>" in page


def test_a_yanked_version_warns_instead_of_offering_the_snippet(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    who = make_publisher(session)
    ns, name = who.namespace.name, unique("yanky")
    put(session, store, who, name, "1.0.0")
    put(session, store, who, name, "1.1.0")
    packages = PackagesService(session, SystemClock(), store)
    row = packages.get_version(packages.get_package(ns, name), "1.1.0")
    row.yanked, row.yank_reason = True, "off by one"
    session.commit()
    yanked = client.get(f"/project/{ns}/{name}/1.1.0").text
    assert 'id="snippet"' not in yanked
    assert "This version is yanked: off by one. Do not add it to new projects; use" in yanked
    assert f'<a href="/project/{ns}/{name}/1.0.0">1.0.0</a> instead' in yanked
    fine = client.get(f"/project/{ns}/{name}/1.0.0").text
    assert f'{name} = {{ namespace = "{ns}", v = "1.0.0" }}</pre>' in fine.replace("&#34;", '"')


def test_downloads_by_client_are_labelled(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    who = make_publisher(session)
    name = unique("labelled")
    put(session, store, who, name)
    version = session.scalars(select(Version).join(Package).where(Package.name == name)).one()
    today = datetime.now(UTC).date()
    DownloadsService(session, SystemClock()).add_counts(
        {
            CountKey(version.id, today, "fpmreg", False): 3,
            CountKey(version.id, today, "fpm", True): 5,
        }
    )
    session.commit()
    page = client.get(f"/project/{who.namespace.name}/{name}").text
    assert "By client, last 90 days: fpm: 5, fpmreg client: 3 (from CI: 5)." in page


def test_readme_code_is_highlighted_with_classes_and_unknown_languages_are_not() -> None:
    html = render_readme("README.md", README)
    fortran = re.search(
        r'<pre class="highlight"><code class="language-fortran">(.*?)</code>', html, re.S
    )
    assert fortran, html
    assert '<span class="tok-k">program </span>' in fortran.group(1)
    assert '<span class="tok-c">! three</span>' in fortran.group(1)
    assert " style=" not in html  # the CSP allows no inline styles
    # Pygments' Makefile lexer is slow on crafted input: shown plain, still escaped.
    assert '<pre><code class="language-make">all:\n\techo &lt;b&gt;\n</code></pre>' in html


def test_the_json_search_takes_the_same_filters(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    who = make_publisher(session)
    ns, tagged, other = who.namespace.name, unique("tagged"), unique("other")
    put(session, store, who, tagged, top='keywords = ["spectral"]\n')
    put(session, store, who, other, license="Apache-2.0")
    found = client.get(f"/api/v1/packages?namespace={ns}&keyword=Spectral").json()
    assert [p["name"] for p in found["packages"]] == [tagged] and found["total"] == 1
    licensed = client.get(f"/api/v1/packages?namespace={ns}&license=apache-2.0").json()
    assert [p["name"] for p in licensed["packages"]] == [other]
    refused = client.get("/api/v1/packages?category=" + "c" * 101)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "filter-too-long"
    assert refused.json()["errors"][0]["field"] == "category"
