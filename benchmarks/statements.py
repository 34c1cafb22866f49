"""SQL statements per request: the production app in this process (its settings from the
environment `benchmarks.common.app_env` gives, so the log-in cache is on), Flask's test client,
and SQLAlchemy's before_cursor_execute event. Prints JSON: for each role, the statements of its
first request to each path and of a repeat (the steady state, caches warm).

    .venv/bin/python -m benchmarks.statements DATABASE_URL [/ /courses/ ...]
"""

from __future__ import annotations

import json
import os
import sys

from benchmarks.common import PASSWORD, app_env

ROLES = {"anonymous": None, "site admin": "13800000001", "city admin": "13800000002",
         "district admin": "13800000003", "grassroots admin": "13800000004", "instructor": "13800000005",
         "worker": "13800000006"}  # the demo log-ins (flask seed-demo)


def count(paths: list[str]) -> dict[str, dict[str, list[int]]]:
    """{role: {path: [statements of the first request, of a repeat]}}."""
    from sqlalchemy import event

    from classroom import create_app
    from classroom.database import statement_engines
    from classroom.extensions import db

    app = create_app(WTF_CSRF_ENABLED=False)
    executed: list[str] = []
    with app.app_context():
        for engine in statement_engines(db.engine):
            event.listen(engine, "before_cursor_execute", lambda *args: executed.append(args[2]))
    found: dict[str, dict[str, list[int]]] = {}
    for role, mobile in ROLES.items():
        client = app.test_client()
        if mobile:
            answer = client.post("/auth/login", data={"identifier": mobile, "password": PASSWORD})
            assert answer.status_code == 302, (role, answer.status_code)
        found[role] = {}
        for path in paths:
            counts = []
            for _ in range(2):
                executed.clear()
                answer = client.get(path)
                assert answer.status_code == 200, (role, path, answer.status_code)
                counts.append(len(executed))
            found[role][path] = counts
    return found


def main() -> None:
    url, paths = sys.argv[1], sys.argv[2:] or ["/"]
    os.environ.update(app_env(url))
    print(json.dumps(count(paths)))


if __name__ == "__main__":
    main()
