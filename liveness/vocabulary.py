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

#: Findings: what a provider established about the evidence that is a reason in itself, not a score.
#: The policy never counts a check with a finding as a pass, at any threshold (liveness/policy.py); what
#: verdict a finding leads to is the FINDING_VERDICTS setting. Code -> what it means, in plain words.
FINDINGS: dict[str, str] = {
    "challenge_failed": "the active challenge was not performed: too few frames show the requested pose or expression",
    "identity_mismatch": "not the same person in every frame of the series",
    "face_mismatch": "the selfie and the document portrait show different people",
    "repeated_frame": "frames of the series are copies of one another (the same picture, mirrored or resized)",
    # Case-level findings of the face search (liveness/services/faces.py), not of a provider's check:
    "repeat_face": "the face matches the face of an earlier case under another external_ref",
    "blocklisted_face": "the face matches a face on the blocklist",
}
#: Default verdict per finding. A mismatch is not a spoof: a person is asked to look (review). A failed
#: challenge is what a printed photo or a replayed video produces when asked to turn, blink or speak.
DEFAULT_FINDING_VERDICTS: dict[str, str] = {
    "challenge_failed": "spoof",
    "identity_mismatch": "needs_review",
    "face_mismatch": "needs_review",
    "repeated_frame": "needs_review",
    # A repeat is a question for a person (a second account, or the same person reapplying): review.
    "repeat_face": "needs_review",
    # FINDING_VERDICTS=blocklisted_face=spoof refuses a blocklisted face automatically instead.
    "blocklisted_face": "needs_review",
}

#: Why an operator asks for a resubmission: a closed list the partner can act on (tell the applicant what to do
#: differently), sent with free text in the ``case.resubmission_requested`` webhook and in the case's GET.
#: Code -> what it asks of the applicant, in plain words (the console shows these as the choices).
RESUBMISSION_REASONS: dict[str, str] = {
    "blurry": "the image is blurred or out of focus: hold the camera still, in good light",
    "face_not_visible": "the face is not fully visible: no hat, mask or hand over it, the whole face in the frame",
    "document_cut_off": "part of the document is cut off: all four corners inside the picture",
    "glare": "light reflects on the document or the face: avoid direct light and flash",
    "wrong_document": "the document is not the one asked for (type or country)",
    "other": "something else: the free text says what",
}
