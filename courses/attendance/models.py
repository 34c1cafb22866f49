"""Attendance models (filled in by the attendance feature)."""
