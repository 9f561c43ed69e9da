"""Endpoints of the app as a whole, belonging to no domain: health probes (`health`),
Prometheus metrics (`metrics`), the built-in WebSocket relay and its AsyncAPI document
(`websocket`), and the API documentation's files (`api_docs`)."""
