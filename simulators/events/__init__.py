"""Scheduled events from scenario data (outages, switching), as a simulator."""
