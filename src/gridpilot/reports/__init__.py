"""Reports: kinds in a registry, scheduled and on-demand runs, PDF and CSV files.

See docs/reports.md.
"""
