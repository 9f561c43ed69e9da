"""Access codes delivered as HR hands them out: CSV, printable PDF cards, people CSV, CLI."""

from __future__ import annotations

import csv
import io
import json
import math
import re

from pypdf import PdfReader

from staffroom.accounts.tables import User
from staffroom.onboarding.tables import AccessCode
from tests.cli.test_cli import staffroom
from tests.onboarding.test_codes import CODE, redeem
from tests.support.flows import auth
from tests.support.world import World, assert_problem, login


async def _hr(client):
    return auth(await login(client, "acme", "hr_admin@acme.example"))


def _pdf_text(body: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(body))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


async def test_csv_delivery_escapes_formula_cells(client, world: World) -> None:
    people = [
        {"employee_id": "E-1", "display_name": '=HYPERLINK("http://evil")'},
        {"employee_id": "+E-2", "display_name": "Zoë Ångström"},
    ]
    r = await client.post(
        "/api/v1/access-codes",
        params={"format": "csv"},
        json={"label": "Depot", "people": people},
        headers=await _hr(client),
    )
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-disposition"].startswith('attachment; filename="access-codes-acme-')
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["card"] for row in rows] == ["1", "2"]
    assert rows[0]["display_name"] == '\'=HYPERLINK("http://evil")'
    assert rows[1]["employee_id"] == "'+E-2" and rows[1]["display_name"] == "Zoë Ångström"
    assert all(CODE.match(row["code"]) for row in rows)
    assert (await redeem(client, rows[1]["code"], username="zoe.a")).status_code == 200


async def test_pdf_delivery_is_a_sheet_of_cards_with_every_code(client, world: World) -> None:
    await client.patch(
        "/api/v1/org",
        json={"name": "Łódź Logistik & Co"},
        headers=auth(await login(client, "acme", "owner@acme.example")),
    )
    r = await client.post(
        "/api/v1/access-codes",
        params={"format": "pdf"},
        json={"label": "Night shift", "count": 23},
        headers=await _hr(client),
    )
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    pages, text = _pdf_text(r.content)
    assert pages == math.ceil(23 / 10)
    printed = re.findall(CODE.pattern.strip("^$"), text)
    assert len(set(printed)) == 23
    assert "Łódź Logistik & Co" in text and "Card 23 of 23" in text
    # The printed codes are the real ones.
    assert (await redeem(client, printed[0])).status_code == 200


async def test_a_people_csv_makes_one_bound_card_per_person(client, world: World) -> None:
    h = await _hr(client)
    group = (await client.post("/api/v1/groups", json={"name": "Hall 3"}, headers=h)).json()
    body = '\ufeffEmployee ID;Display Name\nE-1;Ana Silva\n\n E-2 ;"Chen; Bo"\n'.encode()
    r = await client.post(
        "/api/v1/access-codes/import",
        params={"label": "Hall 3", "role": "guest", "group_ids": [group["id"]]},
        content=body,
        headers=h,
    )
    assert r.status_code == 201, r.text
    made = r.json()["codes"]
    assert [(c["employee_id"], c["display_name"]) for c in made] == [
        ("E-1", "Ana Silva"),
        ("E-2", "Chen; Bo"),
    ]
    bo = await User.select().where(User.employee_id == "E-2").first()
    assert bo["status"] == "pending" and bo["role"] == "guest"
    r = await redeem(client, made[1]["code"], username="bo.chen")
    me = (await client.get("/api/v1/me", headers=auth(r.json()))).json()
    assert me["group_ids"] == [group["id"]] and me["display_name"] == "Chen; Bo"


async def test_bad_people_files_are_refused_and_create_nothing(client, world: World) -> None:
    h = await _hr(client)
    for body, code in (
        (b"name\nAna\n", "csv_no_employee_id_column"),
        (b"employee_id,display_name\nE-1,\n", "csv_missing_display_name"),
        (b"employee_id,display_name\nE-1,Ana\nE-1,Ana\n", "duplicate_employee_id"),
        ("employee_id,display_name\nE-1,Ana\n".encode("utf-16"), "csv_not_utf8"),
        (b"\x00\x01\x02PK", "csv_invalid"),
        (b"", "csv_empty"),
        (b"employee_id,display_name\n" + b"E,A\n" * 5001, "csv_too_many_rows"),
    ):
        r = await client.post(
            "/api/v1/access-codes/import", params={"label": "x"}, content=body, headers=h
        )
        assert_problem(r, 422, code)
    r = await client.post(
        "/api/v1/access-codes/import",
        params={"label": "x"},
        content=b"employee_id,display_name\n" + b"E,A\n" * 600_000,
        headers=h,
    )
    assert_problem(r, 413)
    assert await AccessCode.count() == 0
    assert await User.count().where(User.status == "pending") == 0


async def test_cli_writes_printable_cards_and_json(client, world: World, tmp_path) -> None:
    out = tmp_path / "cards.pdf"
    result = staffroom(
        "codes", "create", "--org", "acme", "--label", "Gate B", "--count", "12", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    pages, text = _pdf_text(out.read_bytes())
    assert pages == 2 and "Card 12 of 12" in text
    people = tmp_path / "people.csv"
    people.write_text("employee_id,display_name\nW-1,Wes\n")
    out_json = tmp_path / "codes.json"
    result = staffroom(
        "codes", "create", "--org", "acme", "--label", "W", "--people", str(people),
        "--format", "json", "--out", str(out_json),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    created = json.loads(out_json.read_text())
    assert created["codes"][0]["employee_id"] == "W-1"
    assert (await redeem(client, created["codes"][0]["code"], username="wes.w")).status_code == 200
    bad = staffroom("codes", "create", "--org", "nope", "--label", "x", "--count", "1", "--out",
                    str(tmp_path / "x.pdf"))  # fmt: skip
    assert bad.returncode == 2 and "org_not_found" in bad.stderr
    assert staffroom("codes", "create", "--org", "acme", "--label", "x", "--out", "y").returncode
