"""Extensions, created unbound; the factory binds them to the app."""

from typing import TYPE_CHECKING

from flask.globals import _cv_app, _cv_request
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from classroom.database import Base


def _session_scope() -> int:
    """One database session per request (else per app context), so that a request never
    shares a session with the code around it: CLI commands, jobs, or a test's own body."""
    context = _cv_request.get(None) or _cv_app.get(None)
    return id(context)


db = SQLAlchemy(model_class=Base, session_options={"scopefunc": _session_scope})

# The models' base: Flask-SQLAlchemy's ``db.Model`` at run time (the table names, the ``query`` property …),
# seen by the type checker as the declarative base it is made from, so typed models check.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
compress = Compress()
