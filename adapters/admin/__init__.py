"""The dashboard at /admin/ (SPEC §16): sign-in, pages and actions for admins and programme managers."""
