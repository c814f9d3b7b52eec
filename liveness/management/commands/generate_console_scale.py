"""Synthetic volume for measuring the console at scale: a million cases in well under a minute.

    python manage.py generate_console_scale [--cases 1000000] [--days 366] [--seed 7]

PostgreSQL only. The rows are made by the database itself (``INSERT … SELECT`` over ``generate_series``,
no round trip per row): cases spread over ``--days`` days for several partners and the console, about two
checks per case (every case runs ``local``; most also run ``accura_face`` or ``kairos``; about one case in
a thousand runs the rarely used ``riset``), a decision row for each operator action, and the audit rows
of creation and verdict. The proportions (about 2 % waiting for review, 0.3 % waiting for a four-eyes
approval, 8 % sent to review by the policy, 2 % of automatic verdicts overridden) are those of a busy
portal, so the queue's buckets, the filters and the dashboard see realistic selectivity.

Every generated case carries no evidence (no images): it is data for measuring reads, never a case to
review. The command refuses to run on a database that already holds cases (``--allow-existing`` to add
to one, e.g. a benchmark database), so it cannot mix invented cases into real ones by accident.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from liveness.models import Case, Partner

PARTNERS = (("scale-bank", "Scale Bank"), ("scale-fintech", "Scale Fintech"), ("scale-telco", "Scale Telco"),
            ("scale-exchange", "Scale Exchange"), ("scale-insurer", "Scale Insurer"))  # fmt: skip
OPERATORS = ("scale-op-1", "scale-op-2", "scale-op-3", "scale-op-4")

# One row of random draws per case; every later statement derives the case's values from them.
_DRAWS = """
CREATE TEMP TABLE scale_draws ON COMMIT DROP AS
SELECT g AS n, random() AS r_time, random() AS r_status, random() AS r_verdict, random() AS r_partner,
       random() AS r_kind, random() AS r_prov, random() AS r_op, random() AS r_check
FROM generate_series(1, %(cases)s) AS g
"""

# status / auto_verdict / final_verdict / decided_by from r_status and r_verdict:
#   < 0.020 needs review (the policy could not decide)       < 0.023 override waiting for four-eyes
#   < 0.025 processing (the last hour)                       < 0.075 resubmission requested by an operator
#   < 0.090 closed by an operator                            else decided: 85 % live, 7 % spoof automatically,
#   8 % sent to review then decided by an operator; 2 % of the automatic verdicts overridden.
_CASES = """
WITH shaped AS (
  SELECT d.*,
    CASE WHEN r_status < 0.020 THEN 'needs_review' WHEN r_status < 0.023 THEN 'pending_approval'
         WHEN r_status < 0.025 THEN 'processing' WHEN r_status < 0.075 THEN 'resubmission_requested'
         WHEN r_status < 0.090 THEN 'closed' ELSE 'decided' END AS status,
    CASE WHEN r_verdict < 0.85 THEN 'live' WHEN r_verdict < 0.92 THEN 'spoof' ELSE 'needs_review' END AS policy
  FROM scale_draws d
), valued AS (
  SELECT s.*,
    CASE WHEN status IN ('needs_review', 'resubmission_requested', 'closed') THEN 'needs_review'
         WHEN status = 'processing' THEN '' WHEN status = 'pending_approval' THEN
           CASE WHEN policy = 'spoof' THEN 'spoof' ELSE 'live' END
         ELSE policy END AS auto_verdict,
    CASE WHEN status = 'decided' AND policy = 'needs_review' THEN
           CASE WHEN r_op < 0.8 THEN 'live' ELSE 'spoof' END
         WHEN status = 'decided' AND r_op < 0.02 THEN CASE WHEN policy = 'live' THEN 'spoof' ELSE 'live' END
         WHEN status = 'decided' THEN policy
         WHEN status = 'resubmission_requested' THEN 'resubmit' ELSE '' END AS final_verdict,
    (status IN ('resubmission_requested', 'closed')
      OR (status = 'decided' AND (policy = 'needs_review' OR r_op < 0.02))) AS by_operator,
    now() - CASE WHEN r_status < 0.023 THEN r_time * interval '20 days'
                 WHEN r_status < 0.025 THEN r_time * interval '1 hour'
                 ELSE r_time * interval '1 day' * %(days)s END AS created
  FROM shaped s
)
INSERT INTO liveness_case (
  id, public_id, partner_id, external_ref, kind, country_code, card_code, face_parameters, subject_id,
  face_gallery_id, providers, callback_url, status, auto_verdict, auto_reasons, reason_codes, final_verdict,
  decided_by_id, decided_at, round, findings, face_search_state, face_search_attempts, face_search_error,
  resubmission_count, version, idempotency_key, request_fingerprint, created_at, updated_at)
SELECT %(base)s + n, gen_random_uuid(), p.partner_id,
  CASE WHEN p.partner_id IS NULL THEN ''
       ELSE upper(left(split_part(p.slug, '-', 2), 4)) || '-' || lpad(n::text, 9, '0') END,
  CASE WHEN r_kind < 0.70 THEN 'selfie' WHEN r_kind < 0.92 THEN 'id_document' ELSE 'active' END,
  '', '', '[]'::jsonb, '', '', '[]'::jsonb, '', status, auto_verdict,
  CASE WHEN auto_verdict = 'needs_review' THEN '["A check is inside its review margin"]'::jsonb
       ELSE '[]'::jsonb END,
  CASE WHEN auto_verdict = 'needs_review' THEN '["borderline"]'::jsonb ELSE '[]'::jsonb END,
  final_verdict,
  CASE WHEN by_operator THEN (%(operators)s::int[])[1 + floor(r_op * 1000)::int %% %(n_operators)s] END,
  CASE WHEN final_verdict <> '' OR status = 'closed' THEN created + interval '1 minute' * (1 + r_op * 600) END,
  1, '[]'::jsonb, 'not_applicable', 0, '', CASE WHEN status = 'resubmission_requested' THEN 1 ELSE 0 END,
  1, '', '', created, created + interval '1 minute' * (1 + r_op * 600)
FROM valued v
LEFT JOIN (SELECT (%(partners)s::bigint[])[i] AS partner_id, (%(slugs)s::text[])[i] AS slug, i
           FROM generate_subscripts(%(partners)s::bigint[], 1) i) p
  ON p.i = 1 + floor(v.r_partner * 1000)::int %% (%(n_partners)s + 1)
"""

# Checks of round 1: every case runs local; 74 % also accura_face, 25.9 % kairos, 0.1 % riset.
# Latency is log-normal (Box-Muller) around 250 ms for the engine and 900 ms for the vendors.
_CHECKS = """
WITH pairs AS (
  SELECT c.id AS case_id, c.status AS case_status, c.created_at, d.r_check, d.r_prov, 'local' AS provider, 1 AS slot
  FROM liveness_case c JOIN scale_draws d ON c.id = %(base)s + d.n
  UNION ALL
  SELECT c.id, c.status, c.created_at, d.r_check, d.r_prov,
    CASE WHEN d.r_prov < 0.74 THEN 'accura_face' WHEN d.r_prov < 0.999 THEN 'kairos' ELSE 'riset' END, 2
  FROM liveness_case c JOIN scale_draws d ON c.id = %(base)s + d.n
), drawn AS (
  SELECT p.*, random() AS r_score, random() AS r_a, random() AS r_b FROM pairs p
), valued AS (
  SELECT d.*,
    CASE WHEN case_status = 'processing' THEN 'queued'
         WHEN r_check < (0.015 * slot) THEN 'failed' WHEN r_check < (0.02 * slot) THEN 'skipped'
         ELSE 'succeeded' END AS status,
    greatest(20, round(exp(ln(CASE WHEN provider = 'local' THEN 250 ELSE 900 END)
      + 0.45 * sqrt(-2 * ln(greatest(r_a, 1e-12))) * cos(2 * pi() * r_b))))::int AS latency
  FROM drawn d
)
INSERT INTO liveness_check (
  case_id, round, provider, status, attempts, max_attempts, score, threshold, review_margin, passed, outcome,
  vendor_label, reason, findings, details, error_code, error_message, latency_ms, vendor_request_id,
  fallback_from, fallback_reason, created_at, started_at, finished_at)
SELECT case_id, 1, provider, status, CASE WHEN status = 'queued' THEN 0 ELSE 1 END, 5,
  CASE WHEN status = 'succeeded' THEN r_score END, 0.5, 0.05,
  CASE WHEN status = 'succeeded' THEN r_score >= 0.5 END,
  CASE WHEN status = 'succeeded' THEN
         CASE WHEN abs(r_score - 0.5) < 0.05 THEN 'borderline' WHEN r_score >= 0.5 THEN 'pass' ELSE 'fail' END
       WHEN status = 'failed' THEN 'error' WHEN status = 'skipped' THEN 'not_assessed' ELSE '' END,
  '', CASE WHEN status = 'skipped' THEN 'no_face' ELSE '' END, '[]'::jsonb, '{}'::jsonb,
  CASE WHEN status = 'failed' THEN 'vendor_timeout' ELSE '' END, '',
  CASE WHEN status = 'queued' THEN NULL ELSE latency END, '', '', '',
  created_at, CASE WHEN status <> 'queued' THEN created_at END,
  CASE WHEN status <> 'queued' THEN created_at + latency * interval '1 millisecond' END
FROM valued
"""

# One decision per operator action; overrides of an automatic verdict need four-eyes half of the time.
_DECISIONS = """
INSERT INTO liveness_decision (case_id, actor_id, verdict, previous_verdict, reason, is_override,
  approval_status, approver_id, approval_note, decided_at, created_at, resubmission_reasons)
SELECT c.id, coalesce(c.decided_by_id, (%(operators)s::int[])[1]),
  CASE WHEN c.status = 'pending_approval' THEN CASE WHEN c.auto_verdict = 'live' THEN 'spoof' ELSE 'live' END
       WHEN c.status = 'closed' THEN 'needs_review' ELSE c.final_verdict END,
  c.auto_verdict, 'generated', (c.status = 'pending_approval'
    OR (c.auto_verdict IN ('live', 'spoof') AND c.final_verdict IN ('live', 'spoof')
        AND c.final_verdict <> c.auto_verdict)),
  CASE WHEN c.status = 'pending_approval' THEN 'pending'
       WHEN c.auto_verdict IN ('live', 'spoof') AND c.final_verdict IN ('live', 'spoof')
            AND c.final_verdict <> c.auto_verdict THEN
         CASE WHEN c.id %% 2 = 0 THEN 'approved' ELSE 'not_required' END
       ELSE 'not_required' END,
  NULL, '', c.decided_at, coalesce(c.decided_at, c.created_at + interval '5 minutes'),
  CASE WHEN c.final_verdict = 'resubmit' AND c.status NOT IN ('pending_approval', 'closed')
       THEN '["blurry"]'::jsonb ELSE '[]'::jsonb END
FROM liveness_case c
WHERE c.id > %(base)s AND (c.decided_by_id IS NOT NULL OR c.status = 'pending_approval')
"""

_AUDIT = """
INSERT INTO liveness_auditevent (case_id, actor_id, actor_label, action, data, created_at)
SELECT c.id, NULL, CASE WHEN c.partner_id IS NULL THEN 'console' ELSE 'partner' END, 'case.created',
  '{}'::jsonb, c.created_at
FROM liveness_case c WHERE c.id > %(base)s
UNION ALL
SELECT c.id, c.decided_by_id, CASE WHEN c.decided_by_id IS NULL THEN 'system' ELSE '' END,
  CASE WHEN c.decided_by_id IS NULL THEN 'case.auto_decided' ELSE 'decision.applied' END,
  jsonb_build_object('verdict', c.final_verdict), c.decided_at
FROM liveness_case c WHERE c.id > %(base)s AND c.decided_at IS NOT NULL
"""

_TABLES = ("liveness_case", "liveness_check", "liveness_decision", "liveness_auditevent")
_SECONDARY_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
"""

_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
"""


class Command(BaseCommand):
    help = "Generate synthetic cases, checks, decisions and audit rows in PostgreSQL to measure the console."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, default=1_000_000)
        parser.add_argument("--days", type=int, default=366, help="spread creation times over this many days")
        parser.add_argument("--seed", type=float, default=0.7, help="PostgreSQL setseed() value, -1..1")
        parser.add_argument("--allow-existing", action="store_true", help="add to a database that already holds cases")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("generate_console_scale needs PostgreSQL (it generates rows inside the database)")
        cases, days = options["cases"], options["days"]
        if cases < 1 or days < 1:
            raise CommandError("--cases and --days must be at least 1")
        if not -1 <= options["seed"] <= 1:
            raise CommandError("--seed must be between -1 and 1")
        if Case.objects.exists() and not options["allow_existing"]:
            raise CommandError("this database already holds cases; use an empty one (or --allow-existing)")
        started = time.perf_counter()
        partners = [Partner.objects.get_or_create(slug=slug, defaults={"name": name})[0] for slug, name in PARTNERS]
        operators = [User.objects.get_or_create(username=name)[0] for name in OPERATORS]
        base = Case.objects.order_by("-id").values_list("id", flat=True).first() or 0
        params = {
            "cases": cases,
            "days": days,
            "base": base,
            "partners": [p.pk for p in partners],
            "slugs": [p.slug for p in partners],
            "n_partners": len(partners),
            "operators": [u.pk for u in operators],
            "n_operators": len(operators),
        }
        counts: dict[str, int] = {}
        with transaction.atomic(), connection.cursor() as cursor:
            # Building an index once over a million rows is several times cheaper than keeping a dozen
            # of them current row by row: the secondary indexes go, and come back (same definitions)
            # before the transaction commits. Constraint indexes (keys, unique) stay.
            # The same for the foreign keys: one validating join each when re-added, instead of a
            # deferred check per inserted row.
            cursor.execute(_SECONDARY_INDEXES, [list(_TABLES)])
            indexes = cursor.fetchall()
            cursor.execute(_FOREIGN_KEYS, [list(_TABLES)])
            foreign_keys = cursor.fetchall()
            for table, name, _ in foreign_keys:
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            cursor.execute("SELECT setseed(%s)", [options["seed"]])
            for name, sql in (("draws", _DRAWS), ("cases", _CASES), ("checks", _CHECKS),
                              ("decisions", _DECISIONS), ("audit events", _AUDIT)):  # fmt: skip
                step = time.perf_counter()
                cursor.execute(sql, params)
                counts[name] = cursor.rowcount
                self.stdout.write(f"{name}: {cursor.rowcount} rows in {time.perf_counter() - step:.1f} s")
            step = time.perf_counter()
            for _, definition in indexes:
                cursor.execute(definition)
            for table, name, definition in foreign_keys:
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            self.stdout.write(
                f"{len(indexes)} indexes and {len(foreign_keys)} foreign keys rebuilt in "
                f"{time.perf_counter() - step:.1f} s"
            )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('liveness_case', 'id'), (SELECT max(id) FROM liveness_case))"
            )
        with connection.cursor() as cursor:
            # Statistics and the visibility map for the planner (VACUUM cannot run inside a transaction,
            # e.g. a test's: ANALYZE alone then).
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            for table in _TABLES:
                cursor.execute(f"{command} {table}")
        self.stdout.write(
            f"generated {counts['cases']} cases, {counts['checks']} checks, {counts['decisions']} decisions, "
            f"{counts['audit events']} audit events in {time.perf_counter() - started:.1f} s"
        )
