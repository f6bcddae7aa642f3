"""The CLI's commands, one module per area; ``okrsync.cli`` registers them."""
