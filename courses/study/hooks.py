"""Events of study that later features subscribe to. Receivers run inside the transaction of
the change, so what they write commits (or rolls back) with it."""

from blinker import Namespace

_signals = Namespace()

# sender: the Lesson; kwargs: user_id, progress, now. A person completed a lesson (once).
lesson_completed = _signals.signal("lesson-completed")

# sender: the Enrollment; kwargs: now. The course's completion rule is met (exactly once).
enrollment_completed = _signals.signal("enrollment-completed")
