"""The closed list of ``code`` values in the API's problem+json bodies (README, "Errors"; the OpenAPI schema's
``Problem.code`` enum).

A code names the reason for programs; ``detail`` says it for people. The codes come from the API itself,
from DRF, from the services' refusals (``liveness.services.errors.ServiceError`` and its families), from
the image decoder (``liveness.intake.ImageRejected``) and from hosted sessions (``SessionError``).
``problem_body`` refuses a code that is not here when PROBLEM_CODES_STRICT (development and tests) and logs
a warning otherwise; ``tests/test_problem_codes.py`` walks the code base for every code written as a literal.
A new code belongs here, with one line saying what it means, and in the README's table.
"""

from __future__ import annotations

from django.db import models


class ProblemCode(models.TextChoices):
    # --- the request as a whole (DRF and the API) ---
    VALIDATION_ERROR = "validation_error", "one or more fields are invalid: see errors"
    PARSE_ERROR = "parse_error", "the body is not well-formed (or too deeply nested) JSON or multipart"
    BAD_REQUEST = "bad_request", "the request was refused as malformed"
    TOO_MANY_FIELDS = "too_many_fields", "more form or query parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS"
    TOO_MANY_FILES = "too_many_files", "more files than DATA_UPLOAD_MAX_NUMBER_FILES"
    REPEATED_FIELD = "repeated_field", "a single-valued multipart field was sent more than once"
    PAYLOAD_TOO_LARGE = "payload_too_large", "the body is over the size limit"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", "the Content-Type is not JSON or multipart"
    NOT_ACCEPTABLE = "not_acceptable", "no answer in a media type the Accept header takes"
    METHOD_NOT_ALLOWED = "method_not_allowed", "the endpoint does not take this method"
    NOT_FOUND = "not_found", "no such resource, or not yours"
    THROTTLED = "throttled", "too many requests: retry after Retry-After seconds"
    INTERNAL_ERROR = "internal_error", "an unexpected error, logged; no internals are shown"
    SERVICE_UNAVAILABLE = "service_unavailable", "the database, broker or evidence store is unreachable: retry later"
    # --- who is asking ---
    NOT_AUTHENTICATED = "not_authenticated", "no API key was sent"
    AUTHENTICATION_FAILED = "authentication_failed", "the credentials were refused"
    INVALID_API_KEY = "invalid_api_key", "the API key is malformed, unknown, expired or revoked"
    PARTNER_DISABLED = "partner_disabled", "the key's partner account is disabled"
    USER_DISABLED = "user_disabled", "the key's user account is disabled"
    PERMISSION_DENIED = "permission_denied", "the key or user may not do this"
    PARTNER_KEY_REQUIRED = "partner_key_required", "the endpoint takes a partner API key"
    OPERATOR_REQUIRED = "operator_required", "the endpoint is for operators (permission liveness.decide_case)"
    SUPERVISOR_REQUIRED = "supervisor_required", "the endpoint is for supervisors (approvals, the accuracy report)"
    # --- a field's value ---
    INVALID = "invalid", "the value is not acceptable here"
    REQUIRED = "required", "a field this request needs is missing"
    NOT_ALLOWED = "not_allowed", "a field this kind of case or session does not take"
    INVALID_CHOICE = "invalid_choice", "a value outside the allowed list (kind, country code, face parameter)"
    OUT_OF_RANGE = "out_of_range", "a number outside its allowed range"
    LENGTH_MISMATCH = "length_mismatch", "face_parameters and frames differ in number"
    WRONG_IMAGES = "wrong_images", "the images do not fit the case kind"
    TOO_MANY_FRAMES = "too_many_frames", "more frames than INTAKE_MAX_FRAMES"
    UNKNOWN_PROVIDER = "unknown_provider", "a requested provider does not exist"
    PROVIDER_UNAVAILABLE = "provider_unavailable", "a requested provider is disabled or does not check this kind"
    NO_PROVIDER = "no_provider", "no provider is available for this kind of case"
    UNSUPPORTED_LOCALE = "unsupported_locale", "the hosted page does not speak this locale"
    CALLBACK_OVERRIDE_NOT_ALLOWED = "callback_override_not_allowed", "the partner may not set a per-case callback URL"
    CALLBACK_URL_NOT_ALLOWED = "callback_url_not_allowed", "the callback URL is not a public https URL"
    WEBHOOK_URL_NOT_ALLOWED = "webhook_url_not_allowed", "a partner's webhook URL the portal would not send to"
    TOO_LONG = "too_long", "a value over its length limit (a partner's webhook URL)"
    REDIRECT_URL_NOT_ALLOWED = "redirect_url_not_allowed", "the redirect URL is not a public https URL"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key", "the Idempotency-Key is not 1-200 visible ASCII characters"
    INVALID_IF_MATCH = "invalid_if_match", 'the If-Match header is not a case version such as "v3"'
    INVALID_VERDICT = "invalid_verdict", "not a verdict an operator may record"
    INVALID_ASSIGNEE = "invalid_assignee", "the user cannot be assigned cases"
    REASON_REQUIRED = "reason_required", "this decision needs a reason"
    NAME_REQUIRED = "name_required", "an API key needs a name"
    OWNER_REQUIRED = "owner_required", "an API key belongs to exactly one partner or one user"
    # --- an image (422) ---
    EMPTY = "empty", "the image file is empty"
    TOO_LARGE = "too_large", "the image file is over INTAKE_MAX_BYTES"
    TOO_SMALL = "too_small", "the image is below the minimum size"
    NOT_AN_IMAGE = "not_an_image", "the content is not a readable image"
    UNSUPPORTED_FORMAT = "unsupported_format", "not JPEG or PNG"
    ANIMATED = "animated", "animated images are not accepted"
    CORRUPT = "corrupt", "the image is truncated or corrupt"
    INCOMPLETE_IMAGE = "incomplete_image", "the image data ends early"
    TOO_MANY_PIXELS = "too_many_pixels", "over the pixel limit, per image or per request"
    DECOMPRESSION_AMPLIFICATION = "decompression_amplification", "far more pixels than the file size suggests"
    # --- the state of a case, a decision, a claim, a key or a delivery ---
    IDEMPOTENCY_CONFLICT = "idempotency_conflict", "the Idempotency-Key was used with a different request (422)"
    CONFLICT = "conflict", "the case changed since the version named: the body carries its state now"
    PRECONDITION_REQUIRED = "precondition_required", "a decision must name the case version it was made on"
    INVALID_STATE = "invalid_state", "the case, override or session is not in a state that takes this"
    CLAIMED = "claimed", "another operator is working on the case"
    NOT_CLAIMABLE = "not_claimable", "the case is not waiting for review"
    NO_CHANGE = "no_change", "the case already has this verdict"
    OWN_OVERRIDE = "own_override", "nobody approves or refuses their own override"
    RESUBMISSION_LIMIT = "resubmission_limit", "the case was sent back MAX_RESUBMISSIONS times already"
    REVOKED = "revoked", "a revoked API key cannot be rotated"
    IN_PROGRESS = "in_progress", "an attempt of this webhook delivery is in progress"
    NO_URL = "no_url", "the partner has no webhook URL configured"
    # --- hosted verification sessions ---
    SESSION_OPEN = "session_open", "the case already has an open session"
    EXPIRED = "expired", "the session's link has expired (410)"
    SUBMITTED = "submitted", "the session was already submitted (410)"
    CANCELLED = "cancelled", "the session was cancelled (410)"
    CONSENT_REQUIRED = "consent_required", "nothing is captured before the applicant's consent"
    CONSENT_OUTDATED = "consent_outdated", "the consent text changed since it was accepted"
    CHALLENGE_NOT_STARTED = "challenge_not_started", "the server has issued no prompt yet"
    CHALLENGE_RUNNING = "challenge_running", "a challenge is already running"
    CHALLENGE_COMPLETE = "challenge_complete", "the challenge is already complete"
    CHALLENGE_INCOMPLETE = "challenge_incomplete", "not every prompt was answered before submitting"
    TOO_MANY_ATTEMPTS = "too_many_attempts", "the challenge was started too many times"
    OUT_OF_ORDER = "out_of_order", "a prompt or frame arrived before its turn"
    LATE = "late", "the time for the prompt ran out"
    EXTRA_FRAME = "extra_frame", "a frame beyond what the challenge takes"
    REPEATED_FRAME = "repeated_frame", "this frame was already received"
    REPEATED_PROMPT = "repeated_prompt", "this prompt is already complete"
    REPEATED_DOCUMENT = "repeated_document", "the document front was already received"
    DOCUMENT_MISSING = "document_missing", "an ID-document session needs the document front"
    FRAMES_UNAVAILABLE = "frames_unavailable", "the session's frames are no longer stored"
