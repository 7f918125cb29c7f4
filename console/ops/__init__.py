"""Application layer: the operations every front-end (CLI, console, API) calls."""
