"""Admin console, journey 5: a member, an editor, an HR admin and an IT admin each see
exactly the console sections their permissions allow, in the console and in the API each
section calls; anyone else typing a console address gets "Not allowed". Axe on every
console page; the console in German."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, sign_in

# section: (console path, title, a request only that section's permission may make)
SECTIONS: dict[str, tuple[str, str, tuple[str, str, dict[str, Any] | None]]] = {
    "people": ("people", "People", ("PATCH", "/api/v1/users/{me}", {})),
    "invites": ("invites", "Invitations", ("GET", "/api/v1/invites", None)),
    "codes": ("codes", "Access codes", ("GET", "/api/v1/access-codes/batches", None)),
    "groups": ("groups", "Groups", ("PATCH", "/api/v1/groups/{nobody}", {})),
    "feeds": ("feeds", "Feed moderation", ("PATCH", "/api/v1/channels/{nobody}", {})),
    "domains": ("domains", "Domains", ("GET", "/api/v1/domains", None)),
    "sso": ("sso", "Single sign-on", ("GET", "/api/v1/sso/saml", None)),
    "security": ("security", "Security settings", ("PATCH", "/api/v1/org", {})),
    "api_keys": ("api-keys", "API keys", ("GET", "/api/v1/api-keys", None)),
    "oauth_clients": ("oauth-apps", "OAuth apps", ("GET", "/api/v1/oauth/clients", None)),
    "audit": ("audit", "Audit log", ("GET", "/api/v1/audit-events", None)),
}
ALL = set(SECTIONS)
# The role by section table: what each built-in role's permissions allow.
ALLOWED: dict[str, set[str]] = {
    "member": set(),
    "editor": {"feeds"},
    "hr_admin": {"people", "invites", "codes", "groups", "audit"},
    "admin": ALL,
}


async def _api_allows(base: str, role: str, me: uuid.UUID) -> set[str]:
    headers = await api_token(base, "acme", f"{role}@acme.example", PASSWORD)
    allowed = set()
    async with httpx.AsyncClient(base_url=base, headers=headers) as client:
        for section, (_, _, (method, path, body)) in SECTIONS.items():
            url = path.format(me=me, nobody=uuid.uuid4())
            r = await client.request(method, url, json=body)
            assert r.status_code < 500, (section, r.text)
            if r.status_code != 403:
                allowed.add(section)
    return allowed


async def _console_sections(page: Page) -> set[str]:
    titles = {title: section for section, (_, title, _) in SECTIONS.items()}
    listed = page.get_by_role("list", name="Sections").get_by_role("heading")
    names = await listed.all_inner_texts()
    console_nav = page.get_by_role("navigation", name="Admin console")
    nav = await console_nav.get_by_role("link").all_inner_texts()
    assert nav == ["Admin console", *names]
    return {titles[name] for name in names}


async def test_each_role_sees_exactly_its_sections(
    world: World, web_server: Any, browsers: Browsers
) -> None:
    for role, expected in ALLOWED.items():
        # The API is the real gate: it answers the same table.
        assert await _api_allows(web_server.base, role, world.acme[role].id) == expected, role

        page = await browsers.page()
        await sign_in(page, "acme", f"{role}@acme.example", PASSWORD)
        admin_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")
        if not expected:
            await expect(admin_link).to_have_count(0)
        else:
            await admin_link.click()
            await expect(page.get_by_role("heading", name="Admin console", level=1)).to_be_visible()
            assert await _console_sections(page) == expected, role
            if role == "admin":
                await assert_accessible(page)
        # Typing every section's address: its page, or "Not allowed" (a page, not a blank).
        for section, (path, title, _) in SECTIONS.items():
            await page.goto(f"/admin/{path}")
            if section in expected:
                await expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
            else:
                await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
                await expect(page.get_by_role("link", name="Back to the news")).to_be_visible()
            if role == "admin" or (role == "member" and section == "people"):
                await assert_accessible(page)
        assert page.errors == []  # type: ignore[attr-defined]


async def test_a_member_never_downloads_the_console(
    world: World, web_server: Any, browsers: Browsers
) -> None:
    page = await browsers.page()
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    await sign_in(page, "acme", "member@acme.example", PASSWORD)
    await page.goto("/admin/people/" + str(world.acme["editor"].id))
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    assert not [s for s in scripts if "/Console-" in s], scripts


async def test_the_console_speaks_german(world: World, web_server: Any, browsers: Browsers) -> None:
    headers = await api_token(web_server.base, "acme", "admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=headers) as client:
        assert (await client.patch("/api/v1/me", json={"locale": "de"})).status_code == 200
    page = await browsers.page(locale="de-DE")
    await page.goto("/signin")
    await page.get_by_label("Dienstliche E-Mail oder Benutzername").fill("admin@acme.example")
    await page.get_by_role("button", name="Weiter").click()
    await page.get_by_label("Organisations-ID").fill("acme")
    await page.get_by_label("Passwort").fill(PASSWORD)
    await page.get_by_role("button", name="Anmelden").click()
    await page.get_by_role("link", name="Verwaltung", exact=True).click()
    await expect(page.get_by_role("heading", name="Verwaltung", level=1)).to_be_visible()
    console_nav = page.get_by_role("navigation", name="Verwaltung")
    await console_nav.get_by_role("link", name="Personen").click()
    await expect(page.get_by_label("Suche nach Name, E-Mail oder Personalnummer")).to_be_visible()
    await expect(page.get_by_role("columnheader", name="Letzte Anmeldung")).to_be_visible()
    await assert_accessible(page)
    await page.goto("/admin/invites/import")
    await expect(page.get_by_role("heading", name="Aus CSV importieren")).to_be_visible()
    await page.goto("/admin/codes/new")
    await expect(page.get_by_role("heading", name="Neuer Satz Codes")).to_be_visible()
    await expect(page.get_by_label("Datei", exact=True)).to_have_value("pdf")
    await expect(page.get_by_role("option", name="Druckbare Karten (PDF)")).to_be_attached()
    await assert_accessible(page)
