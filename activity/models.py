"""Activity entries: the models arrive with the activity log."""
