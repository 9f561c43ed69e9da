"""Admin console, journey 7: every console page, in English and in German (de-DE), has no
serious or critical axe violation, and the German one shows none of the English text.

The pages are read from the console's own code (the sections in sections.ts and the
routes in Console.tsx), so a section or page added there joins this test by itself. A
route with a parameter takes the id made here for it, or else the first link to such a
page on its section's list; a page that cannot be reached either way fails the test."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from staffroom.accounts.tables import User
from tests.support.certs import rsa_signing_pair
from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, shoot, sign_in

WEB = Path(__file__).resolve().parents[2] / "web" / "src"
# The cast gets names that are no English word of the app's (a person called "Member"
# would look like an untranslated role).
NAMES = {
    "owner": "Olga Inhaber",
    "admin": "Ida Technik",
    "hr_admin": "Hanna Personal",
    "editor": "Erik Redaktion",
    "member": "Mia Lager",
    "guest": "Gustav Gast",
    "frontline": "Fritz Halle",
}


def console_pages() -> list[str]:
    """Every route of the console: its home, each section, each page of a section."""
    sections = (WEB / "admin/sections.ts").read_text()
    console = (WEB / "admin/Console.tsx").read_text()
    paths = re.findall(r'\{\s*key: "\w+",\s*path: "([^"]+)"', sections)
    assert len(paths) >= 10, "sections.ts changed shape: update this test's pattern"
    routes = re.findall(r'\{\s*path: "([^"*]+)",\s*element:', console)
    assert "people/:userId" in routes, "Console.tsx changed shape: update this test's pattern"
    return ["", *dict.fromkeys(paths + routes)]


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def english_only() -> list[re.Pattern[str]]:
    """The app's and the console's English texts that German says differently, as
    patterns of a whole text (a count matches a number, other placeholders anything)."""
    texts: set[str] = set()
    for folder, prefix in ((WEB / "i18n", ""), (WEB / "admin/i18n", "admin.")):
        en = _flat(json.loads((folder / f"{prefix}en.json").read_text()))
        de = _flat(json.loads((folder / f"{prefix}de.json").read_text()))
        german = set(de.values())
        texts |= {v for k, v in en.items() if v != de.get(k) and v not in german and len(v) > 2}
    return [
        re.compile(
            "".join(
                (r"[\d.,]+" if part == "{{count}}" else ".+?")
                if part.startswith("{{")
                else re.escape(part)
                for part in re.split(r"(\{\{\w+\}\})", " ".join(text.split()))
            )
        )
        for text in texts
    ]


# Every text node outside code, and the labels a screen reader says (placeholders apart:
# the audit filter's is an example action such as domain.added).
TEXTS = """() => {
  const out = [], hints = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest("code, script, style")) continue;
    const text = node.textContent.replace(/\\s+/g, " ").trim();
    if (text) out.push(text);
  }
  for (const el of document.querySelectorAll("[aria-label], [placeholder], [title]")) {
    for (const name of ["aria-label", "placeholder", "title"]) {
      const value = el.getAttribute(name);
      if (value) (name === "placeholder" ? hints : out).push(value.replace(/\\s+/g, " ").trim());
    }
  }
  return [out, hints];
}"""


async def _world_with_data(world: World, base: str, tmp: Path) -> dict[str, str]:
    """Something on every list (people, invitations, a batch, domains, keys, groups, a
    channel, a role), in German words; returns the ids of the routes' parameters."""
    for who, name in NAMES.items():
        await User.update({User.display_name: name}).where(User.id == world.acme[who].id)
    await api_token(base, "acme", world.acme["member"].login, PASSWORD)  # a session to list
    headers = await api_token(base, "acme", world.acme["owner"].login, PASSWORD)
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        made: dict[str, Any] = {}
        for method, path, body in (
            ("POST", "/api/v1/invites", {"email": "neu@acme.example", "display_name": "Nele Neu"}),
            ("POST", "/api/v1/domains", {"domain": "acme-lager.example"}),
            ("POST", "/api/v1/api-keys", {"name": "Personalsystem", "scopes": ["users:read"]}),
            ("POST", "/api/v1/groups", {"name": "Lager Nord", "kind": "location"}),
            ("POST", "/api/v1/channels", {"name": "Hausmitteilungen"}),
            (
                "POST",
                "/api/v1/roles",
                {"key": "schicht", "name": "Schichtleitung", "permissions": ["users.read"]},
            ),
        ):
            r = await api.request(method, path, json=body)
            assert r.status_code == 201, (path, r.text)
            made[path] = r.json()
        channel = made["/api/v1/channels"]["id"]
        post = await api.post(
            f"/api/v1/channels/{channel}/posts",
            json={"title": "Neue Schichtpläne", "body": "Ab Montag gilt der neue Plan."},
        )
        assert post.status_code == 201, post.text
        cert, _ = rsa_signing_pair(tmp, "idp")
        idp = await api.post(
            "/api/v1/sso/idps",
            json={
                "name": "Firmenanmeldung",
                "entity_id": "https://idp.acme.example/saml",
                "sso_url": "https://idp.acme.example/saml/sso",
                "certificates": [cert.read_text()],
                "enabled": False,
            },
        )
        assert idp.status_code == 201, idp.text
        batch = await api.post(
            "/api/v1/access-codes",
            json={
                "label": "Nachtschicht",
                "people": [{"employee_id": "N-1", "display_name": "Nora Nacht"}],
            },
        )
        assert batch.status_code == 201, batch.text
    return {
        "userId": str(world.acme["member"].id),
        "batchId": batch.json()["batch"]["id"],
        "groupId": made["/api/v1/groups"]["id"],
        "channelId": channel,
        "postId": post.json()["id"],
        "idpId": idp.json()["id"],
    }


async def _address(page: Page, route: str, ids: dict[str, str]) -> str:
    """The address of a route, its parameters filled in."""
    params = re.findall(r":(\w+)", route)
    if not params:
        return f"/admin/{route}".rstrip("/")
    if all(p in ids for p in params):
        return "/admin/" + re.sub(r":(\w+)", lambda m: ids[m.group(1)], route)
    # Someone else's page: the first link to one on its section's list.
    section = route.split("/:")[0]
    await page.goto(f"/admin/{section}")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    pattern = re.compile("^/admin/" + re.sub(r":\w+", "[^/]+", route) + "$")
    for href in await page.locator(f'main a[href^="/admin/{section}/"]').evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    ):
        if pattern.match(href) and not href.endswith("/new"):
            return str(href)
    pytest.fail(f"no link to /admin/{route} on /admin/{section}: give {params} an id here")


async def _ready(page: Page, address: str) -> None:
    await page.goto(address)
    await expect(page.get_by_role("heading", level=1).first).to_be_visible()
    await expect(page.locator(".loading")).to_have_count(0)


async def _sign_in_german(page: Page, login: str) -> None:
    await page.goto("/signin")
    await page.get_by_label("Dienstliche E-Mail oder Benutzername").fill(login)
    await page.get_by_role("button", name="Weiter").click()
    await page.get_by_label("Organisations-ID").fill("acme")
    await page.get_by_label("Passwort").fill(PASSWORD)
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page.get_by_role("link", name="Verwaltung", exact=True)).to_be_visible()


@pytest.mark.parametrize("language", ["en", "de"])
async def test_every_console_page_is_accessible_and_translated(
    world: World, web_server: Any, browsers: Browsers, language: str, tmp_path: Path
) -> None:
    ids = await _world_with_data(world, web_server.base, tmp_path)
    owner = world.acme["owner"].login
    headers = await api_token(web_server.base, "acme", owner, PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=headers) as api:
        assert (await api.patch("/api/v1/me", json={"locale": language})).status_code == 200
    page = await browsers.page(locale="de-DE" if language == "de" else "en-GB")
    if language == "de":
        await _sign_in_german(page, owner)
    else:
        await sign_in(page, "acme", owner, PASSWORD)
    english = english_only() if language == "de" else []
    visited = []
    for route in console_pages():
        address = await _address(page, route, ids)
        await _ready(page, address)
        await assert_accessible(page)
        texts, hints = await page.evaluate(TEXTS)
        untranslated = sorted({t for t in texts if re.fullmatch(r"[a-z_]+\.[a-z_.]+", t)})
        assert not untranslated, (address, untranslated)  # a key shown instead of words
        left = sorted({t for t in texts + hints for p in english if p.fullmatch(t)})
        assert not left, (address, left)
        visited.append(address)
        if language == "en" and route == "people":
            await page.mouse.click(1, 1)  # no focus ring on the search box in the picture
            await shoot(page, "admin-people-list")
    assert len(visited) >= 15, visited
    assert page.errors == []  # type: ignore[attr-defined]
