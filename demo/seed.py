"""A year of realistic history, replayed through the real services at simulated times.

Nothing here writes a model field directly: every lead, hand-off, attempt, member and escalation comes from the
same service functions the screens and the API call, run under a frozen clock (time-machine) at the moment it
"happened". The periodic jobs (clock sweep, renewals, data integrity, KPI evaluation, reviews) run on their
schedule inside the simulation too, so the demo's escalations, KPI results and plans are the ones the product
itself would have produced. A fixed random seed makes the history the same on every machine.
"""

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

import time_machine
from django.db import transaction
from django.utils import timezone
from faker import Faker

from accounts.models import Role, TeamKind, User
from handoffs.integrity import handoff_integrity_check
from handoffs.models import Handoff
from handoffs.services import attempt_log, handoff_accept, handoff_create, handoff_reject
from leads.models import Lead, LeadSource, LeadState
from leads.services import lead_create, lead_disqualify, lead_recycle, lead_update, touchpoint_record
from metrics.evaluation import kpi_evaluate
from onboarding.models import Membership, MemberState
from onboarding.services import (
    engagement_record,
    lead_convert,
    membership_churn,
    membership_renew,
    memberships_mark_renewal_eligible,
    onboarding_task_complete,
)
from sla.bootstrap import agreement_bootstrap, teams_ensure, user_ensure
from sla.escalations import (
    clocks_sweep,
    plan_accept,
    plan_submit,
    review_action_add,
    review_action_done,
    review_complete,
    reviews_sweep,
)
from sla.models import Agreement, Delivery, Notification, Plan, Review, ReviewAction
from sla_portal.errors import DomainError

PASSWORD = "demo1234"

# username, team, role, first name, last name
CAST = [
    ("admin", None, Role.ADMIN, "Ada", "Admin"),
    ("marketing", TeamKind.MARKETING, Role.STAFF, "Maya", "Patel"),
    ("marketing2", TeamKind.MARKETING, Role.STAFF, "Marco", "Rossi"),
    ("marketing.lead", TeamKind.MARKETING, Role.TEAM_LEAD, "Megan", "Lowe"),
    ("marketing.head", TeamKind.MARKETING, Role.DEPARTMENT_HEAD, "Martin", "Hale"),
    ("outreach", TeamKind.OUTREACH, Role.STAFF, "Omar", "Haddad"),
    ("outreach2", TeamKind.OUTREACH, Role.STAFF, "Olivia", "Grant"),
    ("outreach3", TeamKind.OUTREACH, Role.STAFF, "Oscar", "Nilsson"),
    ("outreach.lead", TeamKind.OUTREACH, Role.TEAM_LEAD, "Olga", "Lindqvist"),
    ("outreach.head", TeamKind.OUTREACH, Role.DEPARTMENT_HEAD, "Owen", "Hart"),
    ("success", TeamKind.MEMBER_SUCCESS, Role.STAFF, "Sara", "Kim"),
    ("success2", TeamKind.MEMBER_SUCCESS, Role.STAFF, "Samuel", "Okafor"),
    ("success.lead", TeamKind.MEMBER_SUCCESS, Role.TEAM_LEAD, "Sofia", "Lopez"),
    ("success.head", TeamKind.MEMBER_SUCCESS, Role.DEPARTMENT_HEAD, "Simon", "Hughes"),
    ("revops", TeamKind.REVOPS, Role.TEAM_LEAD, "Rita", "Ops"),
]

FIT_SECTORS = ["Manufacturing", "Professional services", "Technology", "Hospitality", "Retail"]
OTHER_SECTORS = ["Agriculture", "Public sector", "Education", ""]
REGIONS = ["London", "South East", "Midlands", "North West", "Scotland"]
SOURCES = [  # source, weight, campaigns
    (LeadSource.WEBINAR, 24, ["Export readiness webinar", "Net-zero for SMEs webinar"]),
    (LeadSource.EVENT, 18, ["Annual business awards", "Chamber breakfast"]),
    (LeadSource.WEBSITE, 22, ["Membership guide download", "Contact form"]),
    (LeadSource.REFERRAL, 10, ["Member referral scheme"]),
    (LeadSource.PAID, 16, ["LinkedIn spring campaign", "Search ads"]),
    (LeadSource.EMAIL, 10, ["Autumn newsletter"]),
]
TOUCHPOINTS = ["download", "webinar", "event", "email_click", "email_open", "form", "visit"]


@dataclass(order=True)
class _Job:
    at: datetime
    seq: int
    run: Callable = field(compare=False)


class Simulation:
    """A tiny discrete-event loop: jobs run in time order, each under a frozen clock at its own time."""

    def __init__(self, *, rng: random.Random):
        self.rng = rng
        self.queue: list[_Job] = []
        self.seq = 0
        self.errors = 0

    def at(self, when: datetime, run: Callable) -> None:
        self.seq += 1
        heapq.heappush(self.queue, _Job(when, self.seq, run))

    def run(self, *, until: datetime, progress: Callable[[datetime], None] | None = None) -> None:
        last_day = None
        while self.queue and self.queue[0].at <= until:
            job = heapq.heappop(self.queue)
            with time_machine.travel(job.at, tick=False):
                try:
                    with transaction.atomic():
                        job.run(job.at)
                except DomainError:
                    self.errors += 1  # a refusal the story did not foresee; the product said no, move on
            if progress and job.at.date() != last_day:
                last_day = job.at.date()
                progress(job.at)


class DemoWorld:
    def __init__(self, *, now: datetime, days: int, leads_per_day: float, seed: int = 2026):
        self.rng = random.Random(seed)
        self.fake = Faker("en_GB")
        self.fake.seed_instance(seed)
        self.now = now
        self.start = now - timedelta(days=days)
        self.leads_per_day = leads_per_day
        self.sim = Simulation(rng=self.rng)
        self.users: dict[str, User] = {}
        self.emails: set[str] = set()

    # --- time helpers ----------------------------------------------------------------------------------
    def working(self, moment: datetime) -> datetime:
        """Move a moment into working hours (Mon–Fri 08:30–18:00), as people act."""
        while moment.weekday() >= 5 or not (time(8, 30) <= moment.time() <= time(18)):
            if moment.time() > time(18) or moment.weekday() >= 5:
                moment = (moment + timedelta(days=1)).replace(hour=8, minute=30)
            else:
                moment = moment.replace(hour=8, minute=30)
            moment += timedelta(minutes=self.rng.randint(0, 90))
        return moment

    def after(self, moment: datetime, low_hours: float, high_hours: float, *, working: bool = True) -> datetime:
        later = moment + timedelta(hours=self.rng.uniform(low_hours, high_hours))
        return self.working(later) if working else later

    def staff(self, team: str) -> User:
        return self.rng.choice(
            [u for u in self.users.values() if u.team_id and u.team.kind == team and u.role == Role.STAFF]
        )

    # --- the cast and the agreement ---------------------------------------------------------------------
    def cast(self) -> None:
        teams = teams_ensure()
        for username, team, role, first, last in CAST:
            self.users[username] = user_ensure(
                username=username,
                team=teams[team] if team else None,
                role=role,
                first_name=first,
                last_name=last,
                password=PASSWORD,
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
            )
        with time_machine.travel(self.start - timedelta(days=1), tick=False):
            agreement = agreement_bootstrap(
                signers={
                    TeamKind.MARKETING: self.users["marketing.lead"],
                    TeamKind.OUTREACH: self.users["outreach.lead"],
                    TeamKind.MEMBER_SUCCESS: self.users["success.lead"],
                },
                by=self.users["admin"],
                on=self.start.date() - timedelta(days=1),
            )
        # The next quarterly review is three weeks away: its reminder shows up in the demo.
        Agreement.objects.filter(pk=agreement.pk).update(review_date=self.now.date() + timedelta(days=20))

    # --- one lead's story ---------------------------------------------------------------------------------
    def new_lead(self, at: datetime, bad_data_month: bool, *, story: bool = True, fits: bool | None = None) -> Lead:
        rng = self.rng
        fits = rng.random() < 0.8 if fits is None else fits
        source, _, campaigns = rng.choices(SOURCES, weights=[s[1] for s in SOURCES])[0]
        first, last = self.fake.first_name(), self.fake.last_name()
        email = f"{first}.{last}{rng.randint(1, 999)}@{self.fake.domain_name()}".lower()
        while email in self.emails:
            email = f"{rng.randint(0, 9)}{email}"
        self.emails.add(email)
        missing = 0.3 if bad_data_month else 0.02
        lead = lead_create(
            first_name=first,
            last_name=last,
            email=email,
            phone="" if rng.random() < missing else self.fake.phone_number(),
            job_title=self.fake.job()[:120],
            organisation=self.fake.company(),
            sector=rng.choice(FIT_SECTORS) if fits else rng.choice(OTHER_SECTORS),
            region=rng.choice(REGIONS),
            employees=rng.choice([5, 25, 25, 150, 150, 500]) if fits else 0,
            source=source,
            campaign=rng.choice(campaigns),
            interest=""
            if rng.random() < missing * 0.6
            else rng.choice(
                [
                    "Networking events",
                    "Export support",
                    "Policy and lobbying",
                    "Training for staff",
                    "Corporate membership for the whole team",
                    "Sponsorship of the awards",
                ]
            ),
            owner=self.staff(TeamKind.MARKETING),
            at=at,
        )
        moment = at
        for _ in range(rng.randint(1, 4) if story else 0):
            moment = self.after(moment, 6, 24 * 6, working=False)
            self.sim.at(moment, lambda t, pk=lead.pk: self.touch(pk, t))
        return lead

    def touch(self, pk: int, t: datetime) -> None:
        lead = Lead.objects.get(pk=pk)
        if lead.state not in {LeadState.PROSPECT, LeadState.RECYCLED}:
            return
        touchpoint_record(lead=lead, kind=self.rng.choice(TOUCHPOINTS), at=t, campaign=lead.campaign)
        if Lead.objects.filter(pk=pk, state=LeadState.MQL).exists():
            on_time = self.rng.random() < 0.86
            when = self.after(t, 1, 20, working=False) if on_time else self.after(t, 26, 70, working=False)
            self.sim.at(self.working(when) if on_time else when, lambda t2: self.hand_off(pk, t2))

    def hand_off(self, pk: int, t: datetime) -> None:
        lead = Lead.objects.get(pk=pk)
        if lead.state not in {LeadState.MQL, LeadState.REJECTED}:
            return
        rep = self.staff(TeamKind.OUTREACH) if self.rng.random() < 0.7 else None
        try:
            handoff = handoff_create(lead=lead, by=lead.owner or self.staff(TeamKind.MARKETING), to_user=rep)
        except DomainError:  # hand-offs paused by the data-integrity rule: try again tomorrow
            self.sim.at(self.working(t + timedelta(days=1)), lambda t2: self.hand_off(pk, t2))
            return
        fast = self.rng.random() < 0.8
        self.sim.at(self.after(t, 0.3, 3.5) if fast else self.after(t, 5, 40), lambda t2: self.respond(handoff.pk, t2))

    def respond(self, handoff_pk: int, t: datetime) -> None:
        handoff = Handoff.objects.select_related("lead").get(pk=handoff_pk)
        rep = handoff.to_user or self.staff(TeamKind.OUTREACH)
        rng = self.rng
        reject = rng.random() < (0.6 if not handoff.is_complete else 0.18)
        if reject:
            reason = (
                "data_incomplete"
                if not handoff.is_complete
                else rng.choices(["fit", "interest", "duplicate", "timing", "other"], weights=[35, 30, 5, 25, 5])[0]
            )
            handoff_reject(
                handoff=handoff,
                by=rep,
                reason=reason,
                note="No budget owner identified yet" if reason == "other" else "",
            )
            self.sim.at(self.after(t, 8, 72), lambda t2: self.rework(handoff.lead_id, reason, t2))
            return
        handoff_accept(handoff=handoff, by=rep)
        moment = t
        attempts = rng.choices([1, 2, 3, 4, 5], weights=[10, 18, 35, 25, 12])[0]
        for _ in range(attempts):
            moment = self.after(moment, 4, 24 * 4)
            self.sim.at(moment, lambda t2, pk=handoff.lead_id: self.attempt(pk, t2))
        self.sim.at(self.after(moment, 2, 24 * 8), lambda t2, pk=handoff.lead_id: self.decide(pk, t2))

    def rework(self, pk: int, reason: str, t: datetime) -> None:
        lead = Lead.objects.get(pk=pk)
        if lead.state != LeadState.REJECTED:
            return
        marketer = lead.owner or self.staff(TeamKind.MARKETING)
        if reason == "data_incomplete" and self.rng.random() < 0.7:
            lead_update(
                lead=lead,
                by=marketer,
                phone=lead.phone or self.fake.phone_number(),
                interest=lead.interest or "Networking events",
            )
            self.hand_off(pk, t)
        elif reason in {"fit", "duplicate"}:
            lead_disqualify(lead=lead, by=marketer, reason="not_a_fit" if reason == "fit" else "duplicate")
        else:
            lead_recycle(lead=lead, by=marketer, reason="needs_nurture")

    def attempt(self, pk: int, t: datetime) -> None:
        lead = Lead.objects.get(pk=pk)
        if lead.state not in {LeadState.SQL, LeadState.WORKING}:
            return
        channel = self.rng.choice(["phone", "phone", "email", "linkedin", "meeting"])
        outcome = self.rng.choice(["no_answer", "voicemail", "sent", "connected", "meeting_booked"])
        late_log = self.rng.random() < 0.08  # logged a day or two after the call: a late CRM update
        action_at = t - timedelta(hours=self.rng.uniform(26, 50)) if late_log else t - timedelta(minutes=20)
        attempt_log(
            lead=lead,
            by=lead.owner or self.staff(TeamKind.OUTREACH),
            channel=channel,
            outcome=outcome,
            at=max(action_at, lead.state_changed_at),
            note="",
        )

    def decide(self, pk: int, t: datetime) -> None:
        lead = Lead.objects.get(pk=pk)
        if lead.state not in {LeadState.SQL, LeadState.WORKING}:
            return
        rep = lead.owner or self.staff(TeamKind.OUTREACH)
        roll = self.rng.random()
        if roll < 0.42:
            kind = "corporate" if lead.employees >= 150 else self.rng.choice(["small_business", "individual"])
            value = {"corporate": 2400, "small_business": 850, "individual": 240}[kind]
            membership = lead_convert(
                lead=lead,
                by=rep,
                membership_type=kind,
                contract_value=Decimal(value),
                term_start=t.date(),
                term_end=t.date() + timedelta(days=365),
                notes=self.rng.choice(
                    [
                        "Keen on the export working group",
                        "Wants visibility at the awards",
                        "Board asked for quarterly updates",
                        "",
                    ]
                ),
                owner=self.staff(TeamKind.MEMBER_SUCCESS),
            )
            self.member_story(membership.pk, t)
        elif roll < 0.75:
            lead_recycle(lead=lead, by=rep, reason=self.rng.choice(["not_ready", "timing", "unresponsive"]))
            if self.rng.random() < 0.3:  # some come back to life through nurture
                self.sim.at(self.after(t, 24 * 20, 24 * 60, working=False), lambda t2: self.touch(pk, t2))
        else:
            lead_disqualify(
                lead=lead,
                by=rep,
                reason=self.rng.choice(["no_budget", "no_authority", "not_a_fit", "unresponsive", "competitor"]),
            )

    # --- one member's story --------------------------------------------------------------------------------
    def member_story(self, pk: int, signed: datetime) -> None:
        rng = self.rng
        start = self.after(signed, 4, 24 * 4) if rng.random() < 0.93 else self.after(signed, 24 * 7, 24 * 12)
        self.sim.at(start, lambda t: self.task(pk, "kickoff_call", t))
        welcome = self.after(start, 2, 24 * 6) if rng.random() < 0.93 else self.after(start, 24 * 10, 24 * 16)
        self.sim.at(welcome, lambda t: self.task(pk, "welcome", t))
        self.sim.at(self.after(welcome, 4, 48), lambda t: self.task(pk, "portal_access", t))
        self.sim.at(self.after(welcome, 24, 24 * 10), lambda t: self.task(pk, "first_event_invite", t))
        # Engagement: some members thrive, some fade (the at-risk list and the churn reasons come from them).
        appetite = rng.choice([0.2, 0.5, 1.0, 1.6, 2.2])
        moment = welcome
        for _ in range(int(appetite * 10)):
            moment = self.after(moment, 24 * 3, 24 * 40 / appetite, working=False)
            self.sim.at(moment, lambda t: self.engage(pk, t))
        if rng.random() < 0.04:
            self.sim.at(self.after(signed, 24 * 60, 24 * 200), lambda t: self.churn(pk, t, "business_closed"))

    def task(self, pk: int, step: str, t: datetime) -> None:
        membership = Membership.objects.get(pk=pk)
        open_step = membership.tasks.filter(step=step, done_at__isnull=True).exists()
        if membership.state in {MemberState.SIGNED, MemberState.ONBOARDING} and open_step:
            onboarding_task_complete(membership=membership, step=step, by=membership.owner)

    def engage(self, pk: int, t: datetime) -> None:
        membership = Membership.objects.get(pk=pk)
        if membership.state != MemberState.CHURNED:
            kind = self.rng.choice(["event", "webinar", "community", "portal_login", "portal_login", "committee"])
            engagement_record(membership=membership, kind=kind, at=t)

    def churn(self, pk: int, t: datetime, reason: str) -> None:
        membership = Membership.objects.get(pk=pk)
        if membership.state != MemberState.CHURNED:
            membership_churn(membership=membership, by=membership.owner, reason=reason)

    # --- the periodic jobs, as beat would run them ---------------------------------------------------------
    def hourly(self, t: datetime) -> None:
        clocks_sweep(now=t)
        self.sim.at(t + timedelta(hours=3), self.hourly)  # often enough for history; beat runs it every minute

    def daily(self, t: datetime) -> None:
        memberships_mark_renewal_eligible(at=t)
        handoff_integrity_check(now=t)
        reviews_sweep(now=t)
        self.renewals(t)
        self.plans(t)
        self.reviews(t)
        if t.day == 1:
            kpi_evaluate(now=t, catch_up=1)
        self.sim.at(t + timedelta(days=1), self.daily)

    def renewals(self, t: datetime) -> None:
        """Member Success works renewal-eligible members; members who never engaged lapse at term end."""
        for membership in Membership.objects.filter(
            state=MemberState.RENEWAL_ELIGIBLE, state_changed_at__lte=t - timedelta(days=self.rng.randint(4, 15))
        ):
            if self.rng.random() < 0.8:
                membership_renew(
                    membership=membership, by=membership.owner, new_term_end=membership.term_end + timedelta(days=365)
                )
            else:
                membership_churn(
                    membership=membership,
                    by=membership.owner,
                    reason=self.rng.choice(["price", "no_value", "competitor"]),
                )
        lapsed = Membership.objects.filter(term_end__lt=t.date()).exclude(
            state__in=[MemberState.CHURNED, MemberState.RENEWAL_ELIGIBLE]
        )
        for membership in lapsed:
            reason = (
                "onboarding_delayed"
                if membership.onboarded_at is None
                else self.rng.choice(["low_engagement", "low_engagement", "no_value", "price"])
            )
            membership_churn(membership=membership, by=membership.owner, reason=reason)

    def plans(self, t: datetime) -> None:
        """Teams file their plans a few days after they are opened; the head accepts them. The newest stay open."""
        if t > self.now - timedelta(days=12):
            return
        for plan in Plan.objects.filter(status=Plan.Status.OPEN, opened_at__lte=t - timedelta(days=3)):
            lead = plan.owner or self.users["marketing.lead"]
            plan_submit(
                plan=plan,
                by=lead,
                root_cause="Root cause agreed in the alignment meeting.",
                actions="Weekly check of the queue by the team lead; scoring and scripts adjusted.",
            )
        heads = {"marketing": "marketing.head", "outreach": "outreach.head", "member_success": "success.head"}
        for plan in Plan.objects.filter(status=Plan.Status.SUBMITTED, submitted_at__lte=t - timedelta(days=1)):
            plan_accept(plan=plan, by=self.users[heads[plan.team.kind]])

    def reviews(self, t: datetime) -> None:
        """The monthly alignment meeting happens about ten days into the month; its actions get done in time,
        except the latest ones, which are still open in the demo."""
        lead = self.users["outreach.lead"]
        for review in Review.objects.filter(
            kind=Review.Kind.MONTHLY, status=Review.Status.OPEN, period_end__lte=t.date() - timedelta(days=10)
        ):
            review_action_add(
                review=review,
                by=lead,
                owner=self.rng.choice(
                    [self.users["marketing.lead"], self.users["outreach.lead"], self.users["success.lead"]]
                ),
                description=self.rng.choice(
                    [
                        "Tighten the webinar lead scoring",
                        "Friday cover rota for first responses",
                        "Fix the missing phone field on the web form",
                        "Welcome pack sent on signing day",
                    ]
                ),
                due_on=t.date() + timedelta(days=14),
            )
            review_complete(
                review=review,
                by=lead,
                root_causes="Response times slip on Fridays; the web form drops phone numbers.",
                notes="Agreed in the monthly alignment meeting.",
            )
        if t < self.now - timedelta(days=20):
            for action in ReviewAction.objects.filter(status=ReviewAction.Status.OPEN, due_on__lte=t.date()):
                review_action_done(action=action, by=action.owner)

    # --- the whole year ----------------------------------------------------------------------------------
    def run(self, progress: Callable[[datetime], None] | None = None) -> None:
        self.cast()
        bad_month = (self.now - timedelta(days=120)).strftime("%Y-%m")
        day = self.start
        while day < self.now:
            weekday_factor = 1.0 if day.weekday() < 5 else 0.35
            for _ in range(self._poisson(self.leads_per_day * weekday_factor)):
                moment = day.replace(hour=self.rng.randint(7, 21), minute=self.rng.randint(0, 59))
                if moment < self.now:
                    self.sim.at(moment, lambda t: self.new_lead(t, t.strftime("%Y-%m") == bad_month))
            day += timedelta(days=1)
        first = self.start.replace(hour=0, minute=30)
        self.sim.at(first, self.hourly)
        self.sim.at(first.replace(hour=6), self.daily)
        self.sim.run(until=self.now, progress=progress)
        self.today()
        self.tidy()

    def today(self) -> None:
        """Work still on the desks right now: fresh MQLs on their 24 h clock, hand-offs waiting for a first
        response, new members waiting for onboarding: some comfortable, some about to breach, some breached."""

        def at(moment: datetime, action: Callable[[], object]):
            with time_machine.travel(moment, tick=False), transaction.atomic():
                return action()

        def fresh_mql(moment: datetime) -> Lead:
            lead = at(moment - timedelta(hours=3), lambda: self.new_lead(moment, False, story=False, fits=True))
            for kind in ("webinar", "download"):
                at(moment, lambda k=kind: touchpoint_record(lead=lead, kind=k, campaign=lead.campaign))
            return Lead.objects.get(pk=lead.pk)

        for hours_ago in (1, 5, 9, 17, 19.5, 21, 23, 27):
            fresh_mql(self.now - timedelta(hours=hours_ago))
        for hours_ago in (0.4, 1.5, 2.5, 3.4, 6, 26):
            moment = self.now - timedelta(hours=hours_ago)
            lead = fresh_mql(moment - timedelta(hours=2))
            rep = self.staff(TeamKind.OUTREACH) if hours_ago != 1.5 else None
            at(moment, lambda lead=lead, rep=rep: handoff_create(lead=lead, by=lead.owner, to_user=rep))
        for days_ago in (1, 3, 6):
            moment = self.working(self.now - timedelta(days=days_ago))
            lead = fresh_mql(moment - timedelta(days=4))
            rep = self.staff(TeamKind.OUTREACH)
            handoff = at(
                moment - timedelta(days=3),
                lambda lead=lead, rep=rep: handoff_create(lead=lead, by=lead.owner, to_user=rep),
            )
            at(
                moment - timedelta(days=3) + timedelta(hours=1),
                lambda h=handoff, rep=rep: handoff_accept(handoff=h, by=rep),
            )
            day = moment.date()
            at(
                moment,
                lambda lead=lead, rep=rep, day=day: lead_convert(
                    lead=Lead.objects.get(pk=lead.pk),
                    by=rep,
                    membership_type="small_business",
                    contract_value=850,
                    term_start=day,
                    term_end=day + timedelta(days=365),
                    owner=self.staff(TeamKind.MEMBER_SUCCESS),
                    notes="Signed at the chamber breakfast",
                ),
            )
        at(self.now, lambda: clocks_sweep(now=self.now))

    def _poisson(self, mean: float) -> int:
        # Knuth's method is plenty for means around 2
        limit, k, p = pow(2.718281828, -mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def tidy(self) -> None:
        """History was delivered and read at the time; only the last days' news is still unread or pending."""
        recent = self.now - timedelta(days=2)
        Delivery.objects.filter(created_at__lt=recent).update(status=Delivery.Status.SENT, sent_at=recent)
        Notification.objects.filter(created_at__lt=self.now - timedelta(days=10), read_at__isnull=True).update(
            read_at=recent
        )


def seed_demo(
    *,
    days: int = 365,
    leads_per_day: float = 2.6,
    now: datetime | None = None,
    progress: Callable[[datetime], None] | None = None,
) -> DemoWorld:
    from django.test.utils import override_settings

    now = now or timezone.now()
    world = DemoWorld(now=now.replace(second=0, microsecond=0), days=days, leads_per_day=leads_per_day)
    # History needs no live sender: the demo's worker sends whatever is still due when it starts.
    with override_settings(SLA_KICK_SENDER_ON_COMMIT=False):
        world.run(progress=progress)
    return world


def demo_exists() -> bool:
    return User.objects.filter(username="marketing.lead").exists() and Lead.objects.exists()


__all__ = ["CAST", "PASSWORD", "demo_exists", "seed_demo"]
