"""Live data: the event bus across processes (in-process or Redis) and WebSocket streams."""
