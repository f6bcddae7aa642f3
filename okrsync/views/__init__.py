"""What people read: the text tree, the write diff, the JSON report, live progress."""
