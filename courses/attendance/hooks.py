"""Events of attendance that later features subscribe to (run inside the same transaction)."""

from blinker import Namespace

_signals = Namespace()

# sender: the Attendance; kwargs: session, attended (bool), change (int), now.
# A person's status for a session changed; ``change`` counts flips between attended and not.
attendance_recorded = _signals.signal("attendance-recorded")
