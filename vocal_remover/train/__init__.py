"""Training: one loop for pretraining and finetuning, checkpoints, schedules, distributed runs."""
