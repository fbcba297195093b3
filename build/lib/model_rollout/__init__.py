"""Two-step version-label rollouts (canary, promote, rollback) via models.config."""
