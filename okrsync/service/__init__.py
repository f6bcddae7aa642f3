"""The long-running service (``okrsync daemon``): the scheduler, the one-writer lock and
leader election, the HTTP endpoints (metrics, health, webhooks) and the Prometheus
collectors. ``okrsync sync`` takes the same writer lock and can export the same metrics."""
