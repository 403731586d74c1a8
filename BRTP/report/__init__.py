"""What people read of a result: the original's JSON series, CSV tables and PNG plots.

Pure functions of stored KPIs (no solving here); the service's pages and
downloads and the ``brtp`` command use the same ones.
"""
