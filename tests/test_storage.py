"""The storage interface (issue 18): the local backend fully, the S3 backend's contract with botocore's
Stubber (no S3-compatible server is installable from this machine's package registries: MinIO and Ceph
are not in Debian's archive, and the issue forbids other downloads), and the app's uploads and private
downloads going through it."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from classroom.storage import LocalStorage, S3Storage, build, check_key, content_disposition, storage


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../b", "", "a//b", "./a", "a\\b"])
def test_keys_stay_inside_the_store(key):
    with pytest.raises(ValueError):
        check_key(key)


def test_local_backend(app, tmp_path):
    store = LocalStorage(tmp_path / "files")
    source = tmp_path / "upload.part"
    source.write_bytes(b"first")
    store.put_file("imports/a.csv", source)
    assert not source.exists() and store.exists("imports/a.csv")
    with store.open("imports/a.csv") as handle:
        assert handle.read() == b"first"
    store.put_bytes("reports/r.csv", "名单".encode())
    with store.local_copy("reports/r.csv") as path:
        assert path.read_text() == "名单"
    with app.test_request_context():
        answer = store.download("reports/r.csv", "报告 2026.csv", "text/csv")
        answer.direct_passthrough = False
        assert answer.get_data() == "名单".encode() and "private" in answer.headers["Cache-Control"]
        assert "attachment" in answer.headers["Content-Disposition"]
        from werkzeug.exceptions import NotFound
        with pytest.raises(NotFound):
            store.download("reports/missing.csv", "x.csv")
    store.delete("reports/r.csv")
    store.delete("reports/r.csv")  # absent: no error
    assert not store.exists("reports/r.csv")
    with pytest.raises(FileNotFoundError):
        store.open("reports/r.csv")
    with pytest.raises(FileNotFoundError), store.local_copy("reports/r.csv"):
        pass


@pytest.fixture
def s3():
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
                          endpoint_url="https://s3.example.invalid")
    with Stubber(client) as stubber:
        yield S3Storage("classroom-files", prefix="prod/", client=client, url_seconds=60), stubber
        stubber.assert_no_pending_responses()


def test_s3_backend_writes_reads_and_deletes_objects_under_its_prefix(s3, tmp_path):
    store, stubber = s3
    source = tmp_path / "upload.part"
    source.write_bytes(b"rows")
    stubber.add_response("put_object", {}, {"Bucket": "classroom-files", "Key": "prod/imports/a.csv", "Body": ANY})
    store.put_file("imports/a.csv", source)
    assert not source.exists()  # uploaded, then the local copy is gone
    stubber.add_response("put_object", {}, {"Bucket": "classroom-files", "Key": "prod/r.csv", "Body": b"data"})
    store.put_bytes("r.csv", b"data")
    body = lambda data: StreamingBody(io.BytesIO(data), len(data))  # noqa: E731
    stubber.add_response("get_object", {"Body": body(b"rows")}, {"Bucket": "classroom-files", "Key": "prod/imports/a.csv"})
    assert store.open("imports/a.csv").read() == b"rows"
    stubber.add_response("get_object", {"Body": body(b"rows")}, {"Bucket": "classroom-files", "Key": "prod/imports/a.csv"})
    with store.local_copy("imports/a.csv") as path:
        assert path.read_bytes() == b"rows"
        copy = path
    assert not copy.exists()  # the host's copy lives only while it is read
    stubber.add_client_error("get_object", "NoSuchKey", http_status_code=404)
    with pytest.raises(FileNotFoundError):
        store.open("gone.csv")
    stubber.add_response("head_object", {}, {"Bucket": "classroom-files", "Key": "prod/r.csv"})
    assert store.exists("r.csv")
    stubber.add_client_error("head_object", "404", http_status_code=404)
    assert not store.exists("gone.csv")
    stubber.add_response("delete_object", {}, {"Bucket": "classroom-files", "Key": "prod/r.csv"})
    store.delete("r.csv")


def test_s3_private_download_is_a_short_signed_url(s3, app):
    store, _stubber = s3
    with app.test_request_context():
        answer = store.download("scans/x.pdf", "证书 扫描.pdf", "application/pdf")
    assert answer.status_code == 302 and answer.headers["Cache-Control"] == "no-store"
    url = urlsplit(answer.location)
    query = parse_qs(url.query)
    assert url.netloc == "s3.example.invalid" and url.path == "/classroom-files/prod/scans/x.pdf"
    assert query["response-content-type"] == ["application/pdf"]
    assert "filename*=UTF-8''%E8%AF%81%E4%B9%A6%20%E6%89%AB%E6%8F%8F.pdf" in query["response-content-disposition"][0]
    assert query.get("X-Amz-Expires", query.get("Expires")) is not None
    if "X-Amz-Expires" in query:
        assert query["X-Amz-Expires"] == ["60"]


def test_content_disposition_has_an_ascii_fallback():
    assert content_disposition('a"b.pdf') == "attachment; filename=\"ab.pdf\"; filename*=UTF-8''a%22b.pdf"


def test_the_settings_pick_the_backend(app):
    assert isinstance(storage(), LocalStorage) and storage().root.as_posix() == app.config["UPLOAD_FOLDER"]
    chosen = build({"STORAGE_BACKEND": "s3", "STORAGE_S3_BUCKET": "b", "STORAGE_S3_PREFIX": "/p/",
                    "STORAGE_S3_ENDPOINT_URL": "http://127.0.0.1:9000", "STORAGE_S3_REGION": "cn-north-1",
                    "UPLOAD_FOLDER": "unused"})
    assert isinstance(chosen, S3Storage) and (chosen.bucket, chosen.prefix) == ("b", "p/")
    assert chosen.client.meta.endpoint_url == "http://127.0.0.1:9000"


def test_member_imports_go_through_the_storage(app, tree, make_admin, tmp_path, monkeypatch):
    """A member import's upload is stored under imports/ and read back through the storage (any backend)."""
    from classroom.unions.import_models import ImportJob
    from tests.factories import login_client
    from tests.test_member_import import import_via_web, people, write_csv

    seen = []
    real = LocalStorage.local_copy

    def recording(self, key):
        seen.append((key, self.exists(key)))
        return real(self, key)

    monkeypatch.setattr(LocalStorage, "local_copy", recording)
    job = import_via_web(login_client(app, make_admin(tree.a1)), tree.a1, write_csv(tmp_path / "m.csv", people(3)))
    assert isinstance(job, ImportJob) and job.status == "done" and job.stored_name is None
    assert len(seen) == 2 and all(key.startswith("imports/") and present for key, present in seen)  # preview, commit
    assert not storage().exists(seen[0][0])  # released once committed
