"""factory-boy factories for the domain models."""

from __future__ import annotations

import factory
from django.contrib.auth.models import User

from liveness.models import Case, CaseKind, Check, Partner


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("correct horse battery staple")


class PartnerFactory(factory.django.DjangoModelFactory[Partner]):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n}")
    slug = factory.Sequence(lambda n: f"partner-{n}")
    webhook_secret = factory.Faker("sha256")


class CaseFactory(factory.django.DjangoModelFactory[Case]):
    class Meta:
        model = Case

    kind = CaseKind.SELFIE
    partner = factory.SubFactory(PartnerFactory)


class CheckFactory(factory.django.DjangoModelFactory[Check]):
    class Meta:
        model = Check

    case = factory.SubFactory(CaseFactory)
    provider = "local"
