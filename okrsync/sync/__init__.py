"""One sync cycle, step by step: select the key results, fetch their scopes (incrementally),
evaluate (one call into the pure engine), plan the writes, apply them, record the run."""
