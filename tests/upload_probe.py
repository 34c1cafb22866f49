"""Uploads member-import files through the admin's page in a fresh process and reports, per file,
the answer, its time and the memory the request took (run by tests/test_upload_limits.py).

    python -m tests.upload_probe DATABASE_URL UPLOAD_FOLDER MOBILE UNION_ID FILE [FILE ...]

Memory, measured two ways, both for the request alone (the multipart body is built on disk by the
test client before the clock starts, as a browser's would be sent):
* rss_growth_mb: the peak resident size of the whole process during the request (Linux VmHWM, reset
  through /proc/self/clear_refs just before) minus the resident size just before it;
* traced_peak_mb: tracemalloc's peak of Python and C-extension allocations (zlib, expat, openpyxl)
  during a second, identical request.
"""

from __future__ import annotations

import gc
import html
import json
import re
import sys
import time
import tracemalloc
from pathlib import Path

from werkzeug.test import EnvironBuilder

from classroom import create_app
from tests.factories import PASSWORD


def _status_kb(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1))


def _upload(client, url: str, path: Path) -> tuple[object, float]:
    with path.open("rb") as handle:
        environ = EnvironBuilder(path=url, method="POST", data={"file": (handle, path.name)},
                                 content_type="multipart/form-data", headers={"Accept-Language": "en"}).get_environ()
    gc.collect()
    started = time.perf_counter()
    response = client.open(environ)
    return response, time.perf_counter() - started


def probe(client, url: str, path: Path) -> dict:
    Path("/proc/self/clear_refs").write_text("5")  # the peak resident size starts again from now
    before = _status_kb("VmRSS")
    response, seconds = _upload(client, url, path)
    rss_growth = _status_kb("VmHWM") - before
    tracemalloc.start()
    _upload(client, url, path)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    body = response.get_data(as_text=True)
    errors = re.findall(r'class="invalid-feedback[^"]*">(.*?)</div>', body, flags=re.S)
    return {"file": path.name, "status": response.status_code, "seconds": seconds,
            "rss_growth_mb": rss_growth / 1024, "traced_peak_mb": traced_peak / 2**20,
            "errors": [html.unescape(error) for error in errors]}


def main(database_url: str, folder: str, mobile: str, union_id: str, *paths: str) -> None:
    app = create_app("testing", DATABASE_URL=database_url, WTF_CSRF_ENABLED=False, SERVER_NAME=None,
                     UPLOAD_FOLDER=folder)
    client = app.test_client()
    assert client.post("/auth/login", data={"identifier": mobile, "password": PASSWORD}).status_code == 302
    url = f"/unions/{union_id}/imports"
    warm = Path(folder) / "warm.xlsx"  # loads the modules and templates a refusal needs
    warm.parent.mkdir(parents=True, exist_ok=True)
    warm.write_bytes(b"PK\x03\x04 not a workbook")
    _upload(client, url, warm)
    warm.unlink()
    print(json.dumps([probe(client, url, Path(path)) for path in paths]))


if __name__ == "__main__":
    main(*sys.argv[1:])
