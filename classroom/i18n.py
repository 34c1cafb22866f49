"""Locale and timezone selection, and the Jinja filters that format per locale."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import available_timezones

from babel import Locale, support
from babel.dates import get_timezone_location
from flask import Flask, current_app, has_request_context, request, session
from flask.globals import _cv_app
from flask_babel import Domain, format_date, format_datetime, format_decimal, format_time, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from classroom.database import begin_write
from classroom.extensions import db
from classroom.http import perform
from classroom.timefmt import zone

LOCALE_NAMES = {"zh_CN": "简体中文", "en": "English"}


def remember_language_switch() -> None:
    """A ?lang= switch is remembered in the session, and in the profile of a signed-in user."""
    asked = request.args.get("lang")
    if asked is None or asked not in current_app.config["LANGUAGES"]:
        return
    session["lang"] = asked
    if current_user.is_authenticated and current_user.locale != asked:
        user = current_user._get_current_object()
        perform(lambda: _set_locale(user, asked))


def _set_locale(user: Any, locale: str) -> None:
    begin_write(db.session)  # what loading the user read ends here: on SQLite the write takes the lock first
    user.locale = locale


_PARSED: dict[str, Locale] = {}


def select_locale() -> Locale:
    """The user's setting, then the session's ?lang= switch, then Accept-Language, then zh_CN.
    Parsed once per code: Babel would otherwise parse the identifier on every request."""
    code = _selected_code()
    if code not in _PARSED:
        _PARSED[code] = Locale.parse(code)
    return _PARSED[code]


def _selected_code() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user = current_user._get_current_object()  # (one look-up: each through the proxy costs one)
    if user is not None and user.is_authenticated and user.locale in languages:
        return user.locale
    if session.get("lang") in languages:
        return session["lang"]
    best = request.accept_languages.best_match(["zh_CN", "zh", "zh-CN", "en", "en-US", "en-GB"])
    if best:
        return "zh_CN" if best.lower().startswith("zh") else "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


class CatalogueDomain(Domain):
    """Finds translations/zh_CN for Babel's name of Simplified Chinese (zh_Hans_CN), which
    gettext's own search (zh_Hans_CN, then zh) would never try."""

    def get_translations(self) -> support.NullTranslations:
        """The catalogue of the current locale (zh_CN for any Chinese one), loaded once."""
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        return self.catalogue(locale)

    def catalogue(self, locale: Locale) -> support.NullTranslations:
        """The catalogue of ``locale``, loaded once."""
        name = "zh_CN" if locale.language == "zh" else str(locale)
        if name not in self.cache:
            self.cache[name] = support.Translations.load(self.translation_directories[0], [name], self.domain[0])
        return self.cache[name]

    def for_templates(self) -> support.NullTranslations:
        """``get_translations()`` for the strings of a page, through ``current_locale()``: a page has dozens."""
        locale = current_locale()
        return self.catalogue(locale) if locale is not None else support.NullTranslations()


def current_locale() -> Locale | None:
    """``flask_babel.get_locale()``: the locale chosen for this request (or forced: ``force_locale``), read where
    Flask-Babel keeps it once chosen, without its walk through the request's globals (a page asks many times);
    the first question of a request takes that walk, which chooses it."""
    context = _cv_app.get(None)
    state = context.g.__dict__.get("_flask_babel") if context is not None else None
    locale = getattr(state, "babel_locale", None)
    return locale if locale is not None else get_locale()


def _flat_gettext(domain: CatalogueDomain) -> Callable[..., str]:
    """Jinja's new-style ``_()``/``gettext()`` (the translation, escaped when the template escapes, always
    %-formatted with the keyword arguments) in one call instead of three: the most frequent call of a page."""

    @pass_context
    def gettext(context: Context, string: str, **variables: Any) -> str:
        translated = domain.for_templates().ugettext(string)
        if context.eval_ctx.autoescape:
            translated = Markup(translated)  # noqa: S704 - as Jinja does: our own catalogue's text
        return translated % variables

    return gettext


def select_timezone() -> str:
    """The signed-in user's timezone, else the platform's."""
    if not has_request_context():
        return current_app.config["DEFAULT_TIMEZONE"]
    user = current_user._get_current_object()  # (one look-up: each through the proxy costs one)
    if user is not None and user.is_authenticated and user.timezone:
        return user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def valid_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA timezone this system knows."""
    return name in _timezones()


_TZ_CACHE: set[str] = set()


def _timezones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(available_timezones())
    return _TZ_CACHE


def locale_code() -> str:
    """The current language as our settings name it: "zh_CN" or "en"."""
    locale = current_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def switch_language_url(locale: str) -> str:
    """This page in another language: the query (a search, filters, the page number) is kept."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return f"{quote(request.path)}?{urlencode([*args, ('lang', locale)])}"


def html_lang() -> str:
    """The page's ``lang`` attribute: zh-CN or en."""
    return "zh-CN" if locale_code() == "zh_CN" else "en"


def credit_hours(minutes: int | None) -> str:
    """Minutes shown as 学时 (one unit = MINUTES_PER_CREDIT_HOUR minutes), per locale."""
    unit = current_app.config["MINUTES_PER_CREDIT_HOUR"]
    return format_decimal(round((minutes or 0) / unit, 1), format="#,##0.#")


def zone_label(name: str | None) -> str:
    """A timezone in words in the current language ("中国（上海）时间", "China (Shanghai) Time"), not its code."""
    if name == "UTC":  # Babel names it after an "unknown region"
        return _("Coordinated Universal Time (UTC)")
    return get_timezone_location(zone(name), locale=get_locale())


def init_app(app: Flask) -> None:
    """Flask-Babel's catalogue lookup, the ?lang= switch, the formatting filters and globals."""
    babel = app.extensions["babel"].instance
    domain = babel.__dict__["domain_instance"] = CatalogueDomain()  # replaces Flask-Babel's cached default
    app.jinja_env.globals.update(_=_flat_gettext(domain), gettext=_flat_gettext(domain))  # Flask-Babel's, quicker
    app.before_request(remember_language_switch)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters.update(
        datetime=lambda value, fmt="medium": format_datetime(value, fmt) if value else "",
        date=lambda value, fmt="medium": format_date(value, fmt) if value else "",
        time=lambda value, fmt="short": format_time(value, fmt) if value else "",  # 19:00 / 7:00 PM
        number=lambda value: format_decimal(value or 0),
        credit_hours=credit_hours,
        zone_name=zone_label,  # 中国（上海）时间
    )
    app.jinja_env.globals.update(html_lang=html_lang, LOCALE_NAMES=LOCALE_NAMES, locale_code=locale_code,
                                  switch_language_url=switch_language_url)
