"""What the API tests share: signing a device in, bearer headers, reading problem documents."""

from __future__ import annotations

from tests.factories import PASSWORD

PROBLEM = "application/problem+json"


def sign_in(client, user, device: str = "测试手机", password: str = PASSWORD) -> dict:
    """A device signed in as ``user``: the token endpoint's answer."""
    response = client.post("/api/v1/auth/token", json={"mobile": user.mobile, "password": password,
                                                       "device_name": device})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token: str, **headers: str) -> dict:
    return {"Authorization": f"Bearer {token}", **headers}


def problem(response, status: int, slug: str) -> dict:
    """The response is the problem document of kind ``slug`` with this status; its body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == PROBLEM, response.mimetype
    body = response.get_json()
    assert body["type"].endswith(f"/api/problems/{slug}"), body
    assert body["status"] == status and body["title"] and body["detail"], body
    assert body["instance"] == response.request.path
    assert "Set-Cookie" not in response.headers
    return body
