"""Admin console, issue 20 journey 4: an IT admin sets up SSO with the tests' pysaml2 IdP
from its metadata; a test sign-in succeeds in a new window (nobody signed in); a second
one with the IdP's clock 10 minutes ahead fails and the doctor says "clock skew" with the
seconds (in English and German); once turned on, a person signs in through SSO and lands
in the feed with the mapped group's channel. The console's home lists what needs
attention, linking to where it is fixed. Axe on the wizard, the IdP page, the doctor and
the home page."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import BrowserContext, Page, Route, expect

from tests.support.idp import TestIdp
from tests.support.world import PASSWORD, World
from tests.web.conftest import DESKTOP, PHONE, Browsers
from tests.web.journeys import api_token, assert_accessible, shoot, sign_in
from tests.web.test_admin_domains import sign_in_de

IDP_PAGES = "https://entra.idp.test/**"


class Person:
    """Who signs in at the IdP next (the IdP's own sign-in form is not the subject here)."""

    name_id = "nina-1"
    email = "nina@acme.example"
    groups = ("ward-nurses",)


async def serve_idp(context: BrowserContext, idp: TestIdp, base: str) -> None:
    """The IdP's pages in this browser: its sign-in page answers our AuthnRequest with a
    signed response, posted to the ACS by a button (as IdPs do after their sign-in)."""

    async def answer(route: Route) -> None:
        request_id, relay = idp.read_request(route.request.url)
        response = idp.respond(
            request_id, name_id=Person.name_id, email=Person.email, groups=Person.groups
        )
        page = (
            '<!doctype html><html lang="en"><head><title>Test IdP</title></head><body><main>'
            f'<h1>Test IdP</h1><form method="post" action="{base}/sso/acme/saml/acs">'
            f'<input type="hidden" name="SAMLResponse" value="{response}">'
            f'<input type="hidden" name="RelayState" value="{html.escape(relay)}">'
            "<button>Continue to Staffroom</button></form></main></body></html>"
        )
        await route.fulfill(status=200, content_type="text/html", body=page)

    await context.route(IDP_PAGES, answer)


async def run_test_sign_in(it: Page) -> Page:
    """Press "Test sign-in", continue at the IdP in the new window; that window."""
    async with it.expect_popup() as opened:
        await it.get_by_role("button", name="Test sign-in").click()
    popup = await opened.value
    await popup.get_by_role("button", name="Continue to Staffroom").click()
    await expect(popup.get_by_role("heading", name="Test sign-in")).to_be_visible()
    return popup


async def test_it_sets_up_sso_tests_it_and_a_person_signs_in(
    world: World,
    web_server: Any,
    browsers: Browsers,
    dns_zone: dict[str, list[str]],
    tmp_path: Path,
) -> None:
    base = web_server.base
    headers = await api_token(base, "acme", "admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        sp_metadata = (await api.get("/sso/acme/saml/metadata")).text
        # The org's domain, so that the sign-in page finds its SSO from the address.
        claim = (await api.post("/api/v1/domains", json={"domain": "acme.example"})).json()
        dns_zone["acme.example"] = [claim["verification"]["value"]]
        assert (await api.post(f"/api/v1/domains/{claim['id']}/verify")).status_code == 200
        await api.post("/api/v1/domains", json={"domain": "acme-shop.example"})  # unverified
        group = (await api.post("/api/v1/groups", json={"name": "Ward nurses"})).json()
        channel = await api.post(
            "/api/v1/channels",
            json={"name": "Ward news", "audience": "groups", "audience_group_ids": [group["id"]]},
        )
        r = await api.post(
            f"/api/v1/channels/{channel.json()['id']}/posts",
            json={"title": "Night shift rota", "body": "The rota for December is out."},
        )
        assert r.status_code == 201, r.text
    idp = TestIdp(tmp_path, "entra", [sp_metadata], base=f"{base}/sso")

    it = await browsers.page()
    await serve_idp(it.context, idp, base)
    await sign_in(it, "acme", "admin@acme.example", PASSWORD)
    await it.get_by_role("link", name="Admin").click()
    await (
        it.get_by_role("navigation", name="Admin console")
        .get_by_role("link", name="Single sign-on")
        .click()
    )
    await expect(it.get_by_text("No identity provider yet.")).to_be_visible()
    await assert_accessible(it)

    # The wizard: the preset, Staffroom's values to copy, the IdP's metadata pasted.
    await it.get_by_role("link", name="Add an identity provider").click()
    await it.get_by_role("radio", name="Microsoft Entra ID").check()
    await expect(it.get_by_text("Microsoft Entra admin center", exact=False)).to_be_visible()
    await expect(it.get_by_text(f"{base}/sso/acme/saml/acs", exact=True)).to_be_visible()
    await expect(it.get_by_role("button", name="Copy the ACS URL (reply URL)")).to_be_visible()
    await assert_accessible(it)
    await it.get_by_label("The identity provider's metadata (XML)").fill(idp.metadata())
    await it.get_by_role("button", name="Add identity provider").click()
    await expect(it.get_by_role("heading", name="Microsoft Entra ID", level=1)).to_be_visible()
    await expect(it.get_by_text("Added, and turned off until you turn it on")).to_be_visible()
    await expect(it.get_by_text("Off: not offered at sign-in")).to_be_visible()

    # Accounts at first sign-in, and the IdP group mapped to Staffroom's group.
    await it.get_by_label("Create an account at a person's first sign-in").check()
    accounts = it.get_by_role("region", name="Accounts and two-step sign-in")
    await accounts.get_by_role("button", name="Save").click()
    await expect(accounts.get_by_role("status")).to_have_text("Saved.")
    mapping = it.get_by_role("region", name="Attributes and groups")
    await expect(mapping.get_by_text("No sign-in yet")).to_be_visible()
    await mapping.get_by_role("button", name="Add a rule").click()
    await mapping.get_by_label("IdP group value").fill("ward-nurses")
    await mapping.get_by_label("Staffroom group").select_option(label="Ward nurses")
    await mapping.get_by_role("button", name="Save attributes and rules").click()
    await expect(mapping.get_by_text("Saved.")).to_be_visible()
    await assert_accessible(it)

    # A test sign-in in a new window: it succeeds, and nobody is signed in or created.
    popup = await run_test_sign_in(it)
    await expect(popup.get_by_text("Test succeeded.")).to_be_visible()
    tested = it.get_by_role("region", name="Test sign-in")
    await expect(tested.get_by_role("status")).to_contain_text(
        "Test succeeded. Every check passed: an account would be created"
    )
    await popup.close()
    mapping = it.get_by_role("region", name="Attributes and groups")
    await expect(mapping.get_by_text("Preview with the attributes of nina-1")).to_be_visible()
    await expect(mapping.get_by_text("Would be let in. Groups: Ward nurses.")).to_be_visible()
    await expect(mapping.get_by_role("cell", name="nina@acme.example", exact=False)).to_be_visible()
    await shoot(it, "admin-sso-idp")
    # On a phone the mapping's rows are cards: nothing runs past the page or scrolls
    # sideways, a value's name is its own (the label beside it is not read twice), and
    # axe finds the stacked table as sound as the wide one.
    await it.set_viewport_size(PHONE)
    wrap = mapping.locator(".table-wrap")
    assert await wrap.evaluate("e => e.scrollWidth - e.clientWidth") <= 0
    box = await mapping.get_by_label("Attribute names for Email").bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"], box
    assert await it.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    received = mapping.get_by_role("cell", name=re.compile(r"^nina@acme\.example"))
    await expect(received).to_be_visible()
    await assert_accessible(it)
    await it.set_viewport_size(DESKTOP)

    # The IdP's clock ten minutes ahead: the test fails for clock skew, with the seconds.
    idp.clock_ahead = 600
    popup = await run_test_sign_in(it)
    skew = re.compile(r"Clock skew: the identity provider's clock is (5[6-9]\d|60\d) seconds ahead")
    await expect(popup.get_by_role("alert")).to_contain_text(skew)
    await expect(tested.get_by_role("alert")).to_contain_text("Test failed.")
    await expect(tested.get_by_role("alert")).to_contain_text(skew)
    await popup.close()
    idp.clock_ahead = 0
    await tested.get_by_role("link", name="Details in the SSO doctor").click()
    await expect(it.get_by_role("heading", name="SSO doctor", level=1)).to_be_visible()
    attempts = it.get_by_role("region", name="Microsoft Entra ID: Last sign-in attempts")
    rows = attempts.get_by_role("row")
    await expect(rows).to_have_count(3)  # the header, the failure, the success
    await expect(rows.nth(1)).to_contain_text("Failed")
    await expect(rows.nth(1)).to_contain_text(skew)
    await expect(rows.nth(2)).to_contain_text("Succeeded")
    await rows.nth(2).get_by_text("Attributes and details").click()
    await expect(rows.nth(2)).to_contain_text("nina@acme.example")
    await expect(it.get_by_text("No sign-in attempts yet.")).to_be_visible()  # unknown issuers
    await assert_accessible(it)
    await shoot(it, "admin-sso-doctor")

    # Turned on, the IdP is offered at sign-in: Nina signs in and lands in the feed with
    # her ward's channel (her account made at first sign-in, in the mapped group).
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        found = (await api.get("/api/v1/users", params={"q": "nina"})).json()["items"]
        assert found == []  # the tests made no account
    await it.goto("/admin/sso")
    await it.get_by_role("link", name="Settings and test of Microsoft Entra ID").click()
    # (Once the preview has drawn the attributes: the page is taller then.)
    await expect(it.get_by_text("Preview with the attributes of nina-1")).to_be_visible()
    await it.get_by_role("button", name="Turn on").click()
    await expect(it.get_by_text("Turned on: people of your organisation")).to_be_visible()
    nina = await browsers.page()
    await serve_idp(nina.context, idp, base)
    await nina.goto("/signin")
    await nina.get_by_label("Work email or username").fill("nina@acme.example")
    await nina.get_by_role("button", name="Continue").click()
    await nina.get_by_role("link", name="Continue with Acme single sign-on").click()
    await nina.get_by_role("button", name="Continue to Staffroom").click()
    await expect(nina.get_by_role("heading", name="News")).to_be_visible()
    await expect(nina.get_by_text("Ward news").first).to_be_visible()
    await expect(nina.get_by_role("heading", name="Night shift rota")).to_be_visible()
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        members = (await api.get(f"/api/v1/groups/{group['id']}/members")).json()["items"]
        assert [m["email"] for m in members] == ["nina@acme.example"]

    # The console's home: the failed sign-in and the unverified domain, each with its fix.
    await it.goto("/admin")
    attention = it.get_by_role("region", name="Needs attention")
    failed = attention.get_by_role("listitem").filter(has_text="failed sign-in with Microsoft")
    await expect(failed).to_contain_text(
        "1 failed sign-in with Microsoft Entra ID in the last day."
    )
    domain = attention.get_by_role("listitem").filter(has_text="acme-shop.example")
    await expect(domain).to_contain_text("is not verified yet")
    await assert_accessible(it)
    await shoot(it, "admin-home")
    await failed.get_by_role("link", name="Open the SSO doctor").click()
    await expect(it.get_by_role("heading", name="SSO doctor", level=1)).to_be_visible()

    # SSO required, with a break-glass owner kept (none is refused in words).
    await it.get_by_role("link", name="Back to single sign-on").click()
    enforce = it.get_by_role("region", name="Require single sign-on")
    await enforce.get_by_role("checkbox", name="Require single sign-on").check()
    await enforce.get_by_role("button", name="Save").click()
    await expect(enforce.get_by_role("alert")).to_have_text("Keep at least one break-glass owner.")
    await enforce.get_by_role("checkbox", name="owner@acme.example", exact=False).check()
    await enforce.get_by_role("button", name="Save").click()
    await expect(enforce.get_by_role("status")).to_have_text("Saved.")
    assert not it.errors and not nina.errors  # type: ignore[attr-defined]


async def test_the_doctor_speaks_german(
    world: World, web_server: Any, browsers: Browsers, tmp_path: Path
) -> None:
    base = web_server.base
    headers = await api_token(base, "acme", "admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        assert (await api.patch("/api/v1/me", json={"locale": "de"})).status_code == 200
        sp_metadata = (await api.get("/sso/acme/saml/metadata")).text
        idp = TestIdp(tmp_path, "entra", [sp_metadata], base=f"{base}/sso")
        r = await api.post(
            "/api/v1/sso/idps/metadata",
            params={"name": "Entra", "preset": "entra"},
            content=idp.metadata(),
        )
        assert r.status_code == 201, r.text
        test = (await api.post(f"/api/v1/sso/idps/{r.json()['id']}/test")).json()
    # The IdP's answer, ten minutes ahead, posted to the ACS as a browser does.
    idp.clock_ahead = 600
    request_id, relay = idp.read_request(test["redirect_url"])
    async with httpx.AsyncClient(base_url=base) as browser:
        r = await browser.post(
            "/sso/acme/saml/acs",
            data={"SAMLResponse": idp.respond(request_id), "RelayState": relay},
        )
        assert r.headers["location"].endswith(f"/admin/sso/test#test={test['test_id']}")
    page = await browsers.page(locale="de-DE")
    await sign_in_de(page)
    await page.goto("/admin/sso/doctor")
    await expect(page.get_by_role("heading", name="SSO-Diagnose", level=1)).to_be_visible()
    rows = page.get_by_role("region", name="Entra: Letzte Anmeldeversuche").get_by_role("row")
    await expect(rows.nth(1)).to_contain_text("Fehlgeschlagen")
    await expect(rows.nth(1)).to_contain_text(
        re.compile(
            r"Uhrzeitabweichung: Die Uhr des Identitätsanbieters geht (5[6-9]\d|60\d) Sekunden vor"
        )
    )
    await expect(
        page.get_by_role("heading", name="Versuche von unbekannten Issuern")
    ).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "admin-sso-doctor-de")
    await page.goto("/admin")
    attention = page.get_by_role("region", name="Braucht Aufmerksamkeit")
    await expect(attention).to_contain_text("1 fehlgeschlagene Anmeldung mit Entra am letzten Tag.")
    await assert_accessible(page)
    assert not page.errors  # type: ignore[attr-defined]
