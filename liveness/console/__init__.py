"""The operator console: server-rendered views over the services and selectors."""
