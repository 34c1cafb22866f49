def test_home_for_visitors(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers


def test_healthz(client):
    response = client.get("/healthz")
    assert response.json["status"] == "ok"
