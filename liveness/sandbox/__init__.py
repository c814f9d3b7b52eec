"""Sandbox simulators of the vendor APIs, served by the portal in development and demos (never production).

Each simulator speaks its vendor's documented contract (paths, field names, headers, limits, response
shapes), scores what it receives with the local engine, and can be told to force an outcome or misbehave
(``conventions``). Tests read the exact requests adapters sent through ``recorder``.
"""
