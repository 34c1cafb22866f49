"""Events of the catalogue that later features subscribe to (they run in the same transaction)."""

from blinker import Namespace

_signals = Namespace()

# sender: the Course; kwargs: revision, now. An approved revision changed the live course.
course_changed = _signals.signal("course-changed")
