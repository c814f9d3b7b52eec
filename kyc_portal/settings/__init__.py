"""Settings modules: ``base`` (shared), ``dev`` (embedded defaults), ``test`` and ``production``."""
