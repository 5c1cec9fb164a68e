"""The cluster side of the engine: this node's lease in the `nodes` table, and closing what dead nodes left."""
