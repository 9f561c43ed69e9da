"""IdP configuration (fields, metadata XML, metadata URL), certificates, Single Logout."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from staffroom.accounts.tables import AuthSession
from staffroom.sso.tables import IdentityProvider, SsoSession
from tests.sso.conftest import admin, browser_login, configure, exchange
from tests.support.certs import rsa_signing_pair
from tests.support.flows import auth
from tests.support.world import World, assert_problem, login


def _metadata(idp) -> str:
    return str(idp.metadata())


async def test_an_idp_from_metadata_xml_works_at_once(client, world: World, idp) -> None:
    h = await admin(client)
    r = await client.post(
        "/api/v1/sso/idps/metadata",
        params={"name": "Entra", "preset": "entra"},
        content=_metadata(idp),
        headers=h,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["entity_id"] == idp.entity_id and body["sso_url"].endswith("/sso")
    assert body["sp_acs_url"] == "https://staffroom.test/sso/acme/saml/acs"
    await client.patch(f"/api/v1/sso/idps/{body['id']}", json={"jit": True}, headers=h)
    assert (await exchange(client, await browser_login(client, idp))).status_code == 200
    for bad in ("<not-metadata/>", "garbage", '<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>'):
        r = await client.post(
            "/api/v1/sso/idps/metadata", params={"name": "x"}, content=bad, headers=h
        )
        assert_problem(r, 422, "invalid_metadata")


async def test_metadata_urls_are_fetched_with_limits(client, world: World, idp, settings) -> None:
    from tests.support.apps import app_client

    payload = _metadata(idp).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = payload if self.path == "/metadata" else b"x" * (2 * 1024 * 1024)
            self.send_response(200 if self.path != "/missing" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        h = await admin(client)
        # The default refuses private addresses: no SSRF into the internal network.
        r = await client.post(
            "/api/v1/sso/idps/metadata-url",
            json={"url": f"{base}/metadata", "name": "x"},
            headers=h,
        )
        assert_problem(r, 403, "metadata_private_address")
        async with app_client(settings, sso_metadata_allow_private=True) as lab:
            h = await admin(lab)
            r = await lab.post(
                "/api/v1/sso/idps/metadata-url",
                json={"url": f"{base}/metadata", "name": "Entra"},
                headers=h,
            )
            assert r.status_code == 201, r.text
            for path, code in (
                ("/huge", "metadata_too_large"),
                ("/missing", "metadata_unreachable"),
            ):
                r = await lab.post(
                    "/api/v1/sso/idps/metadata-url",
                    json={"url": f"{base}{path}", "name": "x"},
                    headers=h,
                )
                assert_problem(r, 422, code)
    finally:
        server.shutdown()
    assert await IdentityProvider.count() == 1


async def test_bad_idp_settings_are_refused(client, world: World, idp, tmp_path) -> None:
    h = await admin(client)
    for change, code in (
        ({"certificates": ["not a certificate"]}, "bad_certificate"),
        ({"certificates": []}, "certificate_required"),
        ({"sso_url": "ftp://idp.test/sso"}, "invalid_sso_url"),
        ({"default_role": "owner"}, "owner_only"),
        ({"group_rules": [{"value": "x", "role": "nope"}]}, "unknown_role"),
        (
            {"group_rules": [{"value": "x", "group_id": "00000000-0000-4000-8000-000000000000"}]},
            "unknown_group",
        ),
    ):
        r = await client.post("/api/v1/sso/idps", json=idp.settings(**change), headers=h)
        assert r.status_code in (403, 422), r.text
        assert r.json()["code"] == code, r.text
    member = auth(await login(client, "acme", "member@acme.example"))
    assert_problem(await client.post("/api/v1/sso/idps", json=idp.settings(), headers=member), 403)
    assert await IdentityProvider.count() == 0


async def test_certificates_close_to_expiry_are_flagged(
    client, world: World, idp, tmp_path
) -> None:
    soon, _ = rsa_signing_pair(tmp_path, "soon", days=400, days_ago=380)
    row = await configure(client, idp, certificates=[idp.cert, soon.read_text()])
    warnings = [c["warning"] for c in row["certificates"]]
    assert warnings[0] is None
    assert warnings[1] and "expires in" in warnings[1]
    assert 0 < row["certificates"][1]["days_left"] <= 30


async def test_idp_initiated_single_logout_ends_the_staffroom_sessions(
    client, world: World, idp
) -> None:
    await configure(client, idp, jit=True)
    tokens = (await exchange(client, await browser_login(client, idp))).json()
    link = await SsoSession.select().first()
    assert (await client.get("/api/v1/me", headers=auth(tokens))).status_code == 200
    params = idp.logout_request("acme", link["name_id"], link["session_index"])
    r = await client.get("/sso/acme/saml/sls", params=params)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("https://entra.idp.test/slo?SAMLResponse=")
    assert_problem(await client.get("/api/v1/me", headers=auth(tokens)), 401)
    session = await AuthSession.select().where(AuthSession.id == link["auth_session"]).first()
    assert session["revoke_reason"] == "sso_logout"
    # A forged LogoutRequest (signed by someone else) ends nothing.
    tokens = (await exchange(client, await browser_login(client, idp))).json()
    forged = idp.logout_request("acme", link["name_id"], "")
    forged["Signature"] = forged["Signature"][:-8] + "AAAAAAA="
    assert_problem(await client.get("/sso/acme/saml/sls", params=forged), 422)
    assert (await client.get("/api/v1/me", headers=auth(tokens))).status_code == 200
    # Messages that are not deflated, or not base64 at all (found by contract fuzzing).
    for garbage in ("EntO", "AAAA", "f", "%%%"):
        r = await client.get("/sso/acme/saml/sls", params={"SAMLRequest": garbage})
        assert_problem(r, 422 if garbage != "%%%" else 400)
        r = await client.get("/sso/acme/saml/sls", params={"SAMLResponse": garbage})
        assert_problem(r, 422 if garbage != "%%%" else 400)


async def test_sp_initiated_single_logout_round_trip(client, world: World, idp) -> None:
    await configure(client, idp, jit=True)
    tokens = (await exchange(client, await browser_login(client, idp))).json()
    r = await client.post("/api/v1/auth/sso/logout", headers=auth(tokens))
    url = r.json()["redirect_url"]
    assert url.startswith("https://entra.idp.test/slo?SAMLRequest=")
    assert_problem(await client.get("/api/v1/me", headers=auth(tokens)), 401)
    from urllib.parse import parse_qs, urlparse

    from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
    from onelogin.saml2.utils import OneLogin_Saml2_Utils

    query = parse_qs(urlparse(url).query)
    request_xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(query["SAMLRequest"][0])
    request_id = OneLogin_Saml2_Logout_Request.get_id(request_xml)
    answer = idp.logout_response("acme", request_id, query["RelayState"][0])
    r = await client.get("/sso/acme/saml/sls", params=answer)
    assert r.status_code == 303 and r.headers["location"].endswith("/signed-out")
    # The same answer again is refused: the logout state was used.
    assert_problem(await client.get("/sso/acme/saml/sls", params=answer), 422)


async def test_with_an_sp_key_requests_are_signed_and_metadata_carries_the_cert(
    client, world: World, idp, settings, tmp_path
) -> None:
    from urllib.parse import parse_qs, urlparse

    from tests.support.apps import app_client

    cert, key = rsa_signing_pair(tmp_path, "sp")
    await configure(client, idp, jit=True)
    async with app_client(
        settings, saml_sp_cert_file=str(cert), saml_sp_key_file=str(key)
    ) as signed:
        metadata = (await signed.get("/sso/acme/saml/metadata")).text
        body = "".join(line for line in cert.read_text().splitlines() if "-----" not in line)
        assert body[:60] in metadata.replace("\n", "")
        location = (await signed.get("/sso/acme/saml/login")).headers["location"]
        query = parse_qs(urlparse(location).query)
        assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
        assert query["Signature"][0]
    plain = (await client.get("/sso/acme/saml/login")).headers["location"]
    assert "Signature=" not in plain


async def test_an_entity_id_is_unique_within_an_org_and_may_repeat_across_orgs(
    client, world: World, idp, other_idp
) -> None:
    first = await configure(client, idp)
    h = await admin(client)
    r = await client.post("/api/v1/sso/idps", json=idp.settings(name="Copy"), headers=h)
    assert_problem(r, 409, "idp_entity_id_taken")
    second = await configure(client, other_idp)
    r = await client.patch(
        f"/api/v1/sso/idps/{second['id']}", json={"entity_id": idp.entity_id}, headers=h
    )
    assert_problem(r, 409, "idp_entity_id_taken")
    r = await client.patch(
        f"/api/v1/sso/idps/{first['id']}", json={"entity_id": idp.entity_id}, headers=h
    )
    assert r.status_code == 200, r.text
    # Two orgs of one company on one Entra ID tenant share the issuer: allowed (each org's
    # responses carry its own audience and destination, see test_saml_attacks).
    assert (await configure(client, idp, org="globex"))["entity_id"] == idp.entity_id
    assert await IdentityProvider.count() == 3
    assert await IdentityProvider.count().where(IdentityProvider.entity_id == idp.entity_id) == 2
