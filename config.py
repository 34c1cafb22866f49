"""Settings for Worker Classroom.

Every setting can be overridden by an environment variable named ``CLASSROOM_<NAME>``
(JSON values are parsed, so ``CLASSROOM_MAX_CONTENT_LENGTH=1048576`` is an int).
``CLASSROOM_ENV`` picks the class: development (default), testing or production.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent
VERSION = "0.1.0"


class Config:
    VERSION = VERSION
    SECRET_KEY: str | None = None
    DATABASE_URL: str | None = None
    # No pre-ping (a round trip on every request); connections are recycled instead, and a
    # request that meets a dead connection fails once while the pool replaces it.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False, "pool_recycle": 1800}
    SQLALCHEMY_RECORD_QUERIES = False

    # Secrets for personal data: Fernet key for ID-card numbers, HMAC key for their look-up hash.
    FERNET_KEY: str | None = None
    LOOKUP_HASH_KEY: str | None = None

    # Languages and time
    LANGUAGES = ["zh_CN", "en"]
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    DEFAULT_TIMEZONE = "Asia/Shanghai"
    MINUTES_PER_CREDIT_HOUR = 45  # one 学时

    # Cookies and requests
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "classroom_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    REMEMBER_COOKIE_NAME = "classroom_remember"
    MAX_CONTENT_LENGTH = 24 * 1024 * 1024  # a little above UPLOAD_MAX_BYTES: larger bodies get 413
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    HSTS = False
    PREFERRED_URL_SCHEME = "http"

    # Passwords (argon2id): cost parameters; tests lower them.
    PASSWORD_TIME_COST = 3
    PASSWORD_MEMORY_COST = 65536
    PASSWORD_PARALLELISM = 4
    PASSWORD_MIN_LENGTH = 8
    PASSWORD_MAX_LENGTH = 128

    # Rate limits (Flask-Limiter); Redis in production via CLASSROOM_RATELIMIT_STORAGE_URL.
    RATELIMIT_STORAGE_URL = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_STRATEGY = "fixed-window-counted"  # classroom.ratelimits: the fixed window, told without re-reading
    # Failed log-ins only: a factory's workers reach the platform from one public address, so the
    # per-address limit must let hundreds of them in at a shift change; the per-identifier limit is
    # what stops guessing one account's password.
    LOGIN_LIMIT_PER_IDENTIFIER = "5 per 15 minutes"
    LOGIN_LIMIT_PER_IP = "200 per 15 minutes"
    REGISTER_LIMIT_PER_IP = "200 per hour"  # a sign-up drive at a worker service station shares one address

    PRIVACY_NOTICE_VERSION = "2026-11"
    LOGIN_SESSION_TOUCH_SECONDS = 300
    # Who is logged in: with a Redis URL each process keeps a copy of recent sessions' users and
    # checks one Redis stamp per request instead of querying the database; any change to a person's
    # account, roles, sessions or notifications restamps them (classroom/accounts/session_cache.py).
    AUTH_CACHE_URL: str | None = None
    AUTH_CACHE_SECONDS = 60  # a copy's longest life, whatever Redis says
    AUTH_CACHE_PREFIX = "classroom:auth:"
    AUTH_CACHE_ENTRIES = 10000  # copies kept per process (a few KB each)
    PAGE_SIZE = 20
    # SQLite: a write after a read in a transaction that began deferred is logged (tests: refused), since
    # under WAL it fails at once when another writer committed meanwhile (classroom/database.py).
    SQLITE_STRICT_WRITES = False

    # Scheduled work (CLASSROOM_SCHEDULER=on starts it in the web process; production runs
    # `flask scheduler run`). One process leads at a time, by a lease in the database.
    SCHEDULER = "off"
    # Where it starts in the web processes: "with_app" when a serving process makes the app; "after_fork"
    # when a pre-forking server's hook starts it in each worker (gunicorn.conf.py sets this and the hook).
    SCHEDULER_START = "with_app"
    SCHEDULER_LEASE_SECONDS = 30
    DISPATCH_INTERVAL_SECONDS = 10
    DISPATCH_BATCH = 50
    REMINDER_SCAN_SECONDS = 300
    MEMBER_COUNT_FOLD_SECONDS = 60  # the member counters' appended deltas are folded this often
    DRILL_DAILY_REMINDER_HOUR = 19  # 每日一练 reminders go out from this local hour on (courses.drills.daily)
    DRILL_SUBMIT_SECONDS = 15  # mock-exam papers past their deadline are submitted this often (courses.drills)
    OUTBOX_CLAIM_SECONDS = 300  # a claimed message not marked within this is retried (its dispatcher died)
    # A transient failure (SMTP down, a timeout, a 4xx answer) is retried until it succeeds or the message
    # expires: the wait doubles per attempt from OUTBOX_BACKOFF_SECONDS up to OUTBOX_BACKOFF_MAX_SECONDS.
    # Only a permanent failure (a 5xx refusal of the recipient or message, no address) ends in "failed".
    OUTBOX_BACKOFF_SECONDS = 30
    OUTBOX_BACKOFF_MAX_SECONDS = 3600
    QUIET_HOURS = "22:00-07:00"  # in each person's timezone; email and SMS wait, in-app does not
    # Courses
    CATALOGUE_CACHE_SECONDS = 30  # the rendered course list, shared by one union's members
    # Public pages kept per process under the version of what they show (a certificate's status, a course's
    # outline): a change shows at once; this bounds only what they show of other rows (a union's name).
    PUBLIC_CACHE_SECONDS = 300
    DROP_AFTER_START = False  # may an enrolled worker drop once the course has started?
    LESSON_COMPLETE_SHARE = 0.5  # share of a lesson's credited minutes studied before "complete"
    HEARTBEAT_SECONDS = 30
    VIDEO_EMBED_HOSTS = ["player.bilibili.com", "www.youtube-nocookie.com"]
    UPLOAD_FOLDER: str | None = None  # default: instance/uploads
    # Where uploads and generated files are kept (classroom/storage.py): "local" (UPLOAD_FOLDER) or "s3"
    STORAGE_BACKEND = "local"
    STORAGE_S3_BUCKET: str | None = None
    STORAGE_S3_ENDPOINT_URL: str | None = None  # MinIO, Ceph, OSS …; unset for AWS
    STORAGE_S3_REGION: str | None = None
    STORAGE_S3_PREFIX = ""
    STORAGE_URL_SECONDS = 60  # life of a signed download URL (s3)
    UPLOAD_MAX_BYTES = 20 * 1024 * 1024
    # Uploaded sheets (member import, paper rosters, score sheets) are refused past these, before they are
    # parsed (classroom/uploads.py). The XLSX_ limits hold for every zip package read: DOCX/PPTX attachments too.
    UPLOAD_MAX_ROWS = 200_000
    UPLOAD_MAX_COLUMNS = 100
    UPLOAD_MAX_CELL_CHARS = 1000
    XLSX_MAX_ENTRIES = 2000  # parts in the package
    XLSX_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # declared, and counted while reading
    XLSX_MAX_RATIO = 100  # unpacked / packed size of any part above 1 MB
    # Attendance and hours
    CHECKIN_STEP_SECONDS = 30  # the check-in code rotates this often
    CHECKIN_OPENS_MINUTES_BEFORE = 30
    CHECKIN_GRACE_MINUTES = 10  # after the start: present; later: late
    ROSTER_EDIT_DAYS = 7  # instructors may change a roster this long after the session
    EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
    REPORT_CACHE_SECONDS = 60  # union hours tables, shared by the admins of a node
    HOURS_RETARGET_SECONDS = 60  # a changed annual target's people are recounted this often (courses.hours)

    # Certificates and documents
    # The TrueType font (.ttf or .ttc, glyf outlines) that PDFs embed for Chinese. None: the one shipped in
    # classroom/fonts (WenQuanYi Micro Hei, subset). A path that is not a file stops the app from starting.
    CJK_FONT_PATH: str | None = None
    CERTIFICATE_SERIAL_PREFIX = "ZGXT"
    CERTIFICATE_VERIFY_LIMIT = "30 per minute;300 per day"  # public look-ups per IP: no enumeration
    CERTIFICATE_SIGNING_KEY: str | None = None  # Ed25519 PEM; development: instance/secrets.json
    # The site's public root for links in PDFs, QR codes, badges, feeds and messages, e.g.
    # https://xuetang.example.cn. Required in production (https, not loopback); unset elsewhere: a request
    # links to its own root, and jobs to what `make run` passes (classroom/http.py: public_url).
    PUBLIC_BASE_URL: str | None = None

    # People at scale
    INVITATION_DAYS = 14
    RESET_CODE_MINUTES = 15
    RESET_CODE_ATTEMPTS = 5
    RESET_LIMIT_PER_IDENTIFIER = "5 per hour"
    RESET_LIMIT_PER_IP = "30 per hour"
    SMS_BACKEND = "log"  # or a dotted path to a class with send(mobile, text)
    MAIL_BACKEND = "log"  # "smtp" sends through MAIL_SERVER
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = False
    MAIL_DEFAULT_SENDER = "职工学堂 <noreply@classroom.invalid>"
    # The job queue (classroom/queue.py): RQ on this Redis; unset: tasks run inline (eager)
    QUEUE_URL: str | None = None
    QUEUE_NAME = "classroom"
    QUEUE_RETRY_INTERVALS = [10, 60, 300]  # seconds before each retry of a failed job
    QUEUE_JOB_TIMEOUT = 3600
    IMPORT_STALE_SECONDS = 120  # a busy import whose heartbeat is older is shown as interrupted
    IMPORT_BACKGROUND_ROWS = 2000  # larger member imports: progress polled by the page (every import is queued)
    ANNOUNCEMENT_BATCH_SIZE = 1000  # members notified per transaction of a union announcement (its resume point)
    ANNOUNCEMENT_STALE_SECONDS = 120  # an announcement busy without a batch for longer shows as interrupted
    EXPORT_DIRECT_MAX_ROWS = 5000  # larger report exports are built by a queue task into storage

    # Answers compressed (Flask-Compress): brotli when the browser takes it, else gzip. Streamed answers
    # (downloads sent from files) go as they are; static files are sent whole (classroom/assets.py).
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_STREAMS = False

    # A PostgreSQL streaming replica that reports read from (classroom/replica.py); unset: the primary
    REPLICA_DATABASE_URL: str | None = None
    REPLICA_LAG_WARN_SECONDS = 5  # a report says how far behind the replica is past this
    REPLICA_RETRY_SECONDS = 10  # a replica that did not answer is not asked again for this long
    REPLICA_CONNECT_TIMEOUT = 2

    PROXY_COUNT = 0  # reverse proxies in front of the app (X-Forwarded-For hops to trust)

    # Operations (issue 18): logs, metrics (classroom/logs.py, classroom/metrics.py)
    LOG_FORMAT = "text"  # "json": JSON lines with the request id, and an access line per request
    # /metrics answers only with one of these (none set: 404): a bearer token, or basic credentials
    METRICS_TOKEN: str | None = None
    METRICS_USERNAME: str | None = None
    METRICS_PASSWORD: str | None = None


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SQLITE_STRICT_WRITES = True  # a write after a read in a deferred SQLite transaction fails the test
    SECRET_KEY = "test-secret-key-not-for-production"
    FERNET_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="
    LOOKUP_HASH_KEY = "test-lookup-key"
    DATABASE_URL = "sqlite://"
    CATALOGUE_CACHE_SECONDS = 0
    REPORT_CACHE_SECONDS = 0
    PASSWORD_TIME_COST = 1
    PASSWORD_MEMORY_COST = 1024
    PASSWORD_PARALLELISM = 1
    RATELIMIT_STORAGE_URL = "memory://"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = True
    PREFERRED_URL_SCHEME = "https"
    LOG_FORMAT = "json"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL", "FERNET_KEY", "LOOKUP_HASH_KEY", "CERTIFICATE_SIGNING_KEY",
                          "PUBLIC_BASE_URL")


class ConfigurationError(RuntimeError):
    """The settings cannot run the app safely."""


def _new_signing_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def instance_secrets(instance_path: str | os.PathLike) -> dict[str, str]:
    """Secrets generated once into ``instance/secrets.json`` and reused (development only)."""
    path = Path(instance_path) / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(48),
        "FERNET_KEY": lambda: Fernet.generate_key().decode(),
        "LOOKUP_HASH_KEY": lambda: secrets.token_urlsafe(32),
        "CERTIFICATE_SIGNING_KEY": _new_signing_key_pem,
    }
    missing = {name: make() for name, make in wanted.items() if not stored.get(name)}
    if missing:
        stored.update(missing)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    return stored


def is_loopback(host: str) -> bool:
    """True for localhost names and loopback or unspecified addresses (127.0.0.1, 127.1, ::1, 0.0.0.0)."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the shorthand forms browsers accept too: 127.1, 2130706433
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return False
    mapped = getattr(address, "ipv4_mapped", None)
    return any(a.is_loopback or a.is_unspecified for a in (address, mapped) if a is not None)


def public_base_url_problem(url: str, *, production: bool) -> str | None:
    """Why ``url`` cannot be PUBLIC_BASE_URL (None when it can): an absolute http(s) URL of the site's root;
    in production an https address that people can reach (no loopback)."""
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname or "", parts.port  # a bad port raises ValueError
    except ValueError:
        host = ""
    if not host or parts.scheme not in ("http", "https") or parts.query or parts.fragment or "@" in parts.netloc:
        return "it must be an absolute http(s) URL such as https://xuetang.example.cn"
    if production and is_loopback(host):
        return "a loopback address cannot be reached from other machines; give the site's public address"
    if production and parts.scheme != "https":
        return "production serves over https (secure cookies, HSTS), so the address must start with https://"
    return None


def finish(config: dict, instance_path: str) -> None:
    """Fill derived settings once the class and the environment have been read."""
    env = config.get("ENV_NAME")
    if env == "development":
        for name, value in instance_secrets(instance_path).items():
            config[name] = config.get(name) or value
        if not config.get("DATABASE_URL"):
            config["DATABASE_URL"] = f"sqlite:///{Path(instance_path) / 'classroom.db'}"
    if env == "production":
        missing = [name for name in REQUIRED_IN_PRODUCTION if not config.get(name)]
        if missing:
            names = ", ".join(f"CLASSROOM_{name}" for name in missing)
            raise ConfigurationError(f"Production needs these settings: {names}")
    if config.get("PUBLIC_BASE_URL"):
        problem = public_base_url_problem(str(config["PUBLIC_BASE_URL"]), production=env == "production")
        if problem:
            raise ConfigurationError(f"CLASSROOM_PUBLIC_BASE_URL={config['PUBLIC_BASE_URL']}: {problem}")
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    config["UPLOAD_FOLDER"] = config.get("UPLOAD_FOLDER") or str(Path(instance_path) / "uploads")
    config["RATELIMIT_STORAGE_URI"] = config["RATELIMIT_STORAGE_URL"]
    config["RATELIMIT_ENABLED"] = config.get("RATELIMIT_ENABLED", True)
    if config.get("CJK_FONT_PATH") and not Path(config["CJK_FONT_PATH"]).is_file():
        raise ConfigurationError(f"CLASSROOM_CJK_FONT_PATH={config['CJK_FONT_PATH']}: no such font file")
