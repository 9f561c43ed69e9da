"""The OpenAPI document's error examples are real problems: the status of the response
they illustrate, its title and a stable code (never a generated random status)."""

from __future__ import annotations

from http import HTTPStatus


async def test_every_error_example_shows_its_own_status(client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    seen = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                problem = response.get("content", {}).get("application/problem+json")
                if problem is None:
                    continue
                examples = list(problem.get("examples", {}).values())
                assert examples, (path, method, status)
                for example in examples:
                    value = example["value"]
                    where = (path, method, status, value)
                    assert value["status"] == int(status), where
                    assert value["title"] == HTTPStatus(int(status)).phrase, where
                    assert value["code"] and value["type"].endswith(
                        value["code"].replace("_", "-")
                    ), where
                    seen += 1
    assert seen > 300  # every operation declares its errors
    # No generated (random) example on the shared schema either.
    assert "examples" not in doc["components"]["schemas"]["Problem"]
