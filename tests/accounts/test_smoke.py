from tests.support.world import World, assert_problem, bearer


async def test_owner_logs_in_and_sees_me(client, world: World) -> None:
    h = await bearer(client, world.acme, "owner")
    r = await client.get("/api/v1/me", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "owner"
    assert_problem(await client.get("/api/v1/me"), 401, "authentication_required")
