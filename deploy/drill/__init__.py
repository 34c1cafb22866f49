"""The failover drill (issue 18): ``make drill``. See run.py."""
