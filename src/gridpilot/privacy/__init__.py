"""Personal data (GDPR art. 15, 17, 20): everything gridpilot holds about one user, exported
as JSON, and the erasure of that user by pseudonymisation (docs/privacy.md)."""
