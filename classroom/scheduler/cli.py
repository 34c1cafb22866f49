"""flask scheduler run: the loop in the foreground, one leader among all running copies."""

from __future__ import annotations

import signal

import click
from flask.cli import ScriptInfo, pass_script_info

from classroom.registry import registry
from classroom.scheduler.runner import Runner


@click.command("run")
@pass_script_info
def run_command(info: ScriptInfo) -> None:
    """Run the scheduler in the foreground (one leader among all running copies)."""
    app = info.load_app()
    runner = Runner(app)
    app.extensions["scheduler_runner"] = runner
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    click.echo(f"Scheduler {runner.holder}: {len(registry(app).jobs)} jobs, lease {runner.lease_seconds} s")
    try:
        runner.run()
    except KeyboardInterrupt:
        runner.stop()


scheduler_cli = click.Group("scheduler", help="Scheduled work: reminders, the outbox.")
scheduler_cli.add_command(run_command)
