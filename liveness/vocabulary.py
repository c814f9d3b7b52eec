"""Plain constants shared by the domain, the engine, the vendor adapters and the simulators.

No Django imports here: the engine and the adapters use these without touching the ORM.
"""

#: The active-liveness parameters a frame may be asked for: Riset's documented list, which the portal
#: adopts for every provider (the local engine answers each of them per frame).
FACE_PARAMETERS: tuple[str, ...] = (
    "left",
    "right",
    "up",
    "down",
    "front",
    "eyes open",
    "eyes closed",
    "mouth open",
    "mouth closed",
)
