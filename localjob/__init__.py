"""Run SageMaker training, batch transform and hosting jobs locally from the API's own request JSON.

Jobs run in docker containers (the platform's way) or, where no docker engine answers, with the
installed `train` / `serve` programs as processes. See scripts/local-job --help.
"""
