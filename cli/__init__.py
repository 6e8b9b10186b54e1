"""The `lessons` command line (click)."""
