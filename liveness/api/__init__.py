"""The partner REST API (``/api/v1/``): thin views over the same services the console uses."""
