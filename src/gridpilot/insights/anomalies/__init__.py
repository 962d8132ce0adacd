"""Anomaly scans per asset (residual z-score, Isolation Forest, trend test) and their results."""
