"""The deployment's files; ``deploy.drill`` is the failover drill."""
