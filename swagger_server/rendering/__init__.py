"""Turn stored results into pictures, tables and pages for people (no computation of KPIs here)."""
