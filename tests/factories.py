"""Factories build state through the real services, so tests never hold rows the rules would refuse."""

import factory
from django.utils import timezone

from accounts.models import Role, Team, User
from leads.models import Lead, TouchpointKind
from leads.services import lead_create, touchpoint_record


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = Role.STAFF

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "pass12345")
        if create:
            self.save(update_fields=["password"])


class LeadFactory(factory.Factory):
    """A prospect created through `lead_create`: IMP fit by default, no touchpoints yet."""

    class Meta:
        model = Lead

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    phone = factory.Sequence(lambda n: f"+44 20 7946 {n:04d}")
    organisation = factory.Faker("company")
    job_title = "Operations Director"
    sector = "Manufacturing"
    region = "London"
    employees = 150
    interest = "Corporate membership and networking events"
    source = "webinar"
    campaign = "Spring webinar series"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return lead_create(**kwargs)


def make_mql(*, owner=None, at=None, **fields) -> Lead:
    """A lead that met the default thresholds (IMP fit, ≥2 touchpoints, score ≥ 50) through touchpoints."""
    lead = LeadFactory(owner=owner, **fields)
    at = at or timezone.now()
    touchpoint_record(lead=lead, kind=TouchpointKind.WEBINAR, at=at)
    touchpoint_record(lead=lead, kind=TouchpointKind.DOWNLOAD, at=at)
    lead.refresh_from_db()
    return lead


__all__ = ["UserFactory", "LeadFactory", "make_mql", "Team"]
