"""API views: one class per resource, each a thin call into selectors (reads) or services (writes)."""
