"""gridpilot: an open-source Energy Management System."""

__version__ = "0.1.0"
