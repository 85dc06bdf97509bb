"""Organizations and memberships: the models arrive with the organizations API."""
