"""Every PDF carries its own CJK font: the one shipped in classroom/fonts (or CJK_FONT_PATH's file),
embedded as TrueType, never an OS font. Checked in a fresh interpreter that records every file it opens
and, where ``unshare --mount`` works, with the OS font folders hidden behind empty tmpfs mounts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from reportlab.pdfbase import pdfmetrics

from classroom import create_app
from classroom.pdf import BUNDLED_FONT, FontNotFound, cjk_font
from config import ConfigurationError
from tests.conftest import IN_CI
from tests.pdfs import BUNDLED_FONT_NAME, embedded_truetype_fonts, pdf_text
from tests.render_documents import FONT_DIRS, HOLDER, SERIAL

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "render_documents.py"
OS_FONT_DIRS = [Path(os.path.realpath(os.path.expanduser(folder))) for folder in FONT_DIRS]
# Mount an empty tmpfs over each OS font folder there is, then run the command given after it.
HIDE_FONTS = ('for d in /usr/share/fonts /usr/local/share/fonts "$HOME/.fonts" "$HOME/.local/share/fonts"; do '
              'if [ -d "$d" ]; then mount -t tmpfs tmpfs "$d" || exit 1; fi; done; exec "$@"')
# As root (here and in CI) a mount namespace is enough; elsewhere a user namespace may allow one.
NAMESPACES = (["unshare", "--mount", "--propagation", "private"],
              ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"])


def render(out: Path, *, prefix: list[str] | tuple[str, ...] = ()) -> dict:
    """Run tests/render_documents.py (behind ``prefix``) into ``out``; its report."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([*prefix, sys.executable, str(SCRIPT), str(out)], cwd=ROOT, check=True, timeout=300,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def under_os_font_folder(path: str) -> bool:
    return any(Path(candidate).is_relative_to(folder)
               for candidate in (path, os.path.realpath(path)) for folder in OS_FONT_DIRS)


def assert_documents_carry_the_bundled_font(out: Path, report: dict) -> None:
    """Both PDFs embed the bundled font and nothing else; their text reads back; the process
    read that font file and no file in an OS font folder."""
    for name in ("certificate.pdf", "transcript.pdf"):
        body = (out / name).read_bytes()
        assert embedded_truetype_fonts(body) == {BUNDLED_FONT_NAME}, name
        assert HOLDER in pdf_text(body), name
    assert SERIAL in pdf_text((out / "certificate.pdf").read_bytes())
    assert report["font_file"] == str(BUNDLED_FONT)
    opened = [path for event, path in report["opened"] if event == "open"]
    assert str(BUNDLED_FONT) in opened
    # (ReportLab lists the OS font folders when imported, to build its search path; it opens none of them.)
    assert [path for path in opened if under_os_font_folder(path)] == []


def test_the_documents_embed_the_bundled_font_and_open_no_os_font(tmp_path):
    report = render(tmp_path)
    assert_documents_carry_the_bundled_font(tmp_path, report)


def namespace_prefix(probe: Path) -> list[str] | None:
    """The first way this machine allows to mount a tmpfs in a private mount namespace, if any."""
    probe.mkdir()
    for prefix in NAMESPACES:
        try:
            done = subprocess.run([*prefix, "mount", "-t", "tmpfs", "tmpfs", str(probe)], capture_output=True,
                                  timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return prefix
    return None


def test_the_documents_come_out_whole_with_the_os_font_folders_emptied(tmp_path):
    prefix = namespace_prefix(tmp_path / "probe")
    if prefix is None:
        # Without root or user namespaces (a fresh laptop) this step is left out; CI runs as root.
        assert not IN_CI, "CI=true but `unshare --mount` cannot mount a tmpfs here"
        return
    out = tmp_path / "out"
    report = render(out, prefix=[*prefix, "sh", "-c", HIDE_FONTS, "sh"])
    assert all(not listing for listing in report["font_dirs"].values()), report["font_dirs"]
    assert_documents_carry_the_bundled_font(out, report)


def test_a_configured_font_path_is_followed_and_a_missing_one_is_an_error(tmp_path):
    other = tmp_path / "other.ttf"
    shutil.copy(BUNDLED_FONT, other)
    app = create_app("testing", DATABASE_URL="sqlite://")
    with app.app_context():
        bundled = cjk_font()
        assert pdfmetrics.getFont(bundled).face.filename == str(BUNDLED_FONT)
        app.config["CJK_FONT_PATH"] = str(other)
        configured = cjk_font()  # registered under a name of its own: the first font registered does not stick
        assert configured != bundled and pdfmetrics.getFont(configured).face.filename == str(other)
        app.config["CJK_FONT_PATH"] = None
        assert cjk_font() == bundled
        app.config["CJK_FONT_PATH"] = str(tmp_path / "gone.ttf")
        with pytest.raises(FontNotFound, match="gone.ttf"):
            cjk_font()
    with pytest.raises(ConfigurationError, match="CLASSROOM_CJK_FONT_PATH"):
        create_app("testing", DATABASE_URL="sqlite://", CJK_FONT_PATH=str(tmp_path / "gone.ttf"))
