"""Hyperparameter tuning jobs (CreateHyperParameterTuningJob) run locally: `local-job tune`."""
