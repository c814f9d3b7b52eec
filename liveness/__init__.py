"""The liveness app: cases, evidence, provider checks, decisions, audit."""
