"""Hosted verification: the applicant's page (no login) and its endpoints. Services: services/sessions.py."""
