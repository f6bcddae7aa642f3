"""The long-running service: scheduler, one-writer lock, HTTP (metrics, health, webhooks,
status page). Not built yet: ``okrsync sync`` runs one cycle (cron, systemd timer, CI)."""
