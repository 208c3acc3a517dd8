"""Telemetry: the snapshot log, responsiveness figures, SLOs, alerts, reports and the exporter."""
