"""Reusable test peers: a real Prefect server, a throwaway PostgreSQL cluster."""
