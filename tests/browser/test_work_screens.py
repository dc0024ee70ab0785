"""A lead's whole way from MQL to onboarded member, worked by three people in a real browser, plus the
main screens at laptop and phone width, keyboard use, and the no-JavaScript fallback."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from handoffs.models import ContactAttempt, Handoff
from leads.models import Lead, LeadState
from onboarding.models import Membership, MemberState
from sla.models import Clock, ClockState, Commitment, Escalation, Plan
from tests.factories import LeadFactory, make_mql
from tests.work_screens import handed_off, member, sql

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Every visible form control must have a name a screen reader can announce.
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length))
  .filter(el => !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id)"""


def test_a_lead_goes_from_mql_to_onboarded_member_across_three_teams(sign_in, shoot, users, agreement):
    # given: an MQL whose phone number Marketing has not captured yet
    lead = make_mql(
        owner=users["marketer"], first_name="Ada", last_name="Byron", organisation="Analytical Engines", phone=""
    )

    # Marketing lands on its MQL queue and sees the 24 h clock
    marketing = sign_in("marketer")
    expect(marketing).to_have_url(re.compile(reverse("handoffs:mql_queue") + "$"))
    row = marketing.locator(f"#lead-{lead.pk}")
    expect(row).to_contain_text("left")
    expect(row).to_contain_text("no phone")
    assert marketing.evaluate(UNLABELLED_CONTROLS) == []
    shoot(marketing, "01-marketing-mql-queue")

    # the hand-off form shows the missing field; Marketing fills it and hands off to a rep
    row.get_by_role("link", name="Hand off").click()
    expect(marketing.get_by_text("Required data missing (1 of 6)")).to_be_visible()
    marketing.get_by_label("Phone").fill("+44 20 7946 0001")
    marketing.get_by_label("Hand to").select_option(label=str(users["rep"]))
    marketing.get_by_label("Note for Outreach").fill("Asked for corporate pricing at the webinar.")
    assert marketing.evaluate(UNLABELLED_CONTROLS) == []
    shoot(marketing, "02-handoff-form")
    marketing.get_by_role("button", name="Hand off to Outreach").click()
    expect(marketing.locator("#flash")).to_contain_text("Ada Byron handed off to")
    expect(marketing.locator(f"#lead-{lead.pk}")).to_have_count(0)

    # Outreach lands on its queue, accepts in one click (htmx) and logs a call
    outreach = sign_in("rep")
    expect(outreach).to_have_url(re.compile(reverse("handoffs:queue") + "$"))
    row = outreach.locator(f"#lead-{lead.pk}")
    expect(row).to_contain_text("New hand-off")
    expect(row).to_contain_text("Outreach first response")
    expect(row).to_contain_text("Asked for corporate pricing")
    assert outreach.evaluate(UNLABELLED_CONTROLS) == []
    shoot(outreach, "03-outreach-queue")
    row.get_by_role("button", name="Accept as SQL").click()
    expect(row.locator(".pill")).to_have_text("SQL")
    expect(outreach.locator("#flash")).to_contain_text("accepted as SQL")
    row.get_by_label("Outcome").select_option(label="Connected")
    row.get_by_label("Note").fill("Spoke to Ada, sending the corporate pack.")
    row.get_by_role("button", name="Log attempt").click()
    expect(row.locator(".pill")).to_have_text("In contact")
    expect(row).to_contain_text("last")
    shoot(outreach, "04-outreach-queue-after-attempt")

    # the lead's detail page tells the whole story so far
    row.get_by_role("link", name="Ada Byron").click()
    timeline = outreach.locator(".timeline")
    for text in (
        "Content download",
        "Qualified as MQL",
        "Handed off to Outreach",
        "Accepted as SQL",
        "Phone · Connected",
        "Clock started: Outreach first response",
    ):
        expect(timeline).to_contain_text(text)
    assert outreach.evaluate(UNLABELLED_CONTROLS) == []
    shoot(outreach, "05-lead-detail-timeline")

    # Outreach converts with the contract and notes for Member Success
    outreach.get_by_role("link", name="Convert to member…").click()
    outreach.get_by_label("Membership type").select_option(label="Corporate")
    outreach.get_by_label("Contract value (£ per term)").fill("2400")
    outreach.get_by_label("Member Success owner").select_option(label=str(users["success"]))
    outreach.get_by_label("Notes for Member Success").fill("Keen on the export working group.")
    assert outreach.evaluate(UNLABELLED_CONTROLS) == []
    shoot(outreach, "06-convert-form")
    outreach.get_by_role("button", name="Sign member and hand off").click()
    expect(outreach.locator("#flash")).to_contain_text("Analytical Engines signed as a corporate member")

    # Member Success lands on the onboarding queue and completes the welcome step on the member page
    success = sign_in("success")
    expect(success).to_have_url(re.compile(reverse("onboarding:queue") + "$"))
    membership = Membership.objects.get(lead=lead)
    expect(success.locator(f"#member-{membership.pk}")).to_contain_text("Member Success starts onboarding")
    assert success.evaluate(UNLABELLED_CONTROLS) == []
    shoot(success, "07-onboarding-queue")
    success.get_by_role("link", name="Analytical Engines").click()
    expect(success.locator(".banner.info")).to_contain_text("Keen on the export working group.")
    assert success.evaluate(UNLABELLED_CONTROLS) == []
    shoot(success, "08-member-detail")
    success.get_by_role("button", name=re.compile("^Welcome kit")).click()
    expect(success.locator("#work")).to_contain_text("1 of 4 done")
    expect(success.locator("#member-state")).to_have_text("Onboarded")
    shoot(success, "09-member-onboarded")

    # then: the database agrees with what the three people saw
    lead.refresh_from_db()
    membership.refresh_from_db()
    assert lead.state == LeadState.CONVERTED and lead.phone == "+44 20 7946 0001"
    handoff = Handoff.objects.get(lead=lead, kind=Handoff.Kind.TO_OUTREACH)
    assert handoff.is_complete and handoff.decided_by == users["rep"]
    assert ContactAttempt.objects.get(lead=lead).outcome == "connected"
    assert (membership.state, membership.owner, str(membership.contract_value)) == (
        MemberState.ONBOARDED,
        users["success"],
        "2400.00",
    )
    assert Clock.objects.get(subject_id=membership.pk, commitment=Commitment.WELCOME).state == ClockState.MET


def test_main_screens_render_labelled_at_laptop_and_phone_width(sign_in, shoot, users, agreement):
    # given: a little of everything
    LeadFactory(organisation="Prospect Org")
    _, handoff = handed_off(users, to_user=users["rep"])
    from handoffs.services import handoff_reject

    handoff_reject(handoff=handoff, by=users["rep"], reason="fit", note="Too small for us")
    handed_off(users, to_user=users["rep"])
    sql(users, attempts=1)
    member(users)
    _escalations_and_a_plan(users, agreement)
    screens = [
        ("10-marketing-prospects", "marketing_head", "leads:list"),
        ("11-marketing-feedback", "marketing_head", "leads:feedback"),
        ("12-handoff-log", "outreach_head", "handoffs:list"),
        ("13-members", "success_head", "onboarding:list"),
        ("14-engagement", "success_head", "onboarding:engagement"),
        ("15-at-risk", "success_head", "onboarding:at_risk"),
        ("16-renewals", "success_head", "onboarding:renewals"),
        ("17-escalations", "outreach_head", "sla:escalations"),
        ("18-plans", "outreach_head", "sla:plans"),
        ("18b-plan-detail", "marketing_lead", "plan"),
        ("18c-escalation-detail", "outreach_head", "escalation"),
        ("19-inbox", "outreach_head", "sla:inbox"),
        ("20-overview", "admin", "overview"),
    ]
    pages = {}
    for name, username, url_name in screens:
        page = pages.get(username) or pages.setdefault(username, sign_in(username))
        if url_name == "plan":
            url = reverse("sla:plan_detail", args=[Plan.objects.get().pk])
        elif url_name == "escalation":
            url = reverse("sla:escalation_detail", args=[Escalation.objects.filter(clock__isnull=False).first().pk])
        else:
            url = reverse(url_name)
        response = page.goto(url)
        # then
        assert response.status == 200, name
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate(UNLABELLED_CONTROLS) == [], name
        shoot(page, name)

    phone = sign_in("rep", width=375, height=812)
    expect(phone.locator("table.queue tbody tr").first).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert phone.evaluate(UNLABELLED_CONTROLS) == []
    shoot(phone, "21-outreach-queue-phone")
    phone.goto(reverse("onboarding:list"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(phone, "22-members-phone")


def _escalations_and_a_plan(users, agreement):
    """A missed first response escalated up the ladder, and Marketing's remediation plan after a pause."""
    from django.utils import timezone

    from accounts.models import Team, TeamKind
    from sla.escalations import escalation_raise, plan_open
    from sla.models import EscalationKind

    lead, _ = handed_off(users, to_user=users["rep"], organisation="Escalated Org")
    clock = Clock.objects.get(subject_id=lead.pk, commitment=Commitment.FIRST_RESPONSE)
    escalation_raise(
        key=f"browser-breach-{lead.pk}",
        kind=EscalationKind.CLOCK_BREACH,
        agreement=agreement,
        team=TeamKind.OUTREACH,
        title=f"Missed: Outreach first response – {lead}",
        owner=users["rep"],
        clock=clock,
    )
    Team.objects.filter(kind=TeamKind.MARKETING).update(handoffs_paused=True, handoffs_paused_reason="Data gaps")
    integrity = escalation_raise(
        key="browser-integrity",
        kind=EscalationKind.DATA_INTEGRITY,
        agreement=agreement,
        team=TeamKind.MARKETING,
        title="Hand-off data quality below threshold",
        detail="14 % of hand-offs missed required fields.",
        owner=users["marketing_lead"],
    )
    plan_open(
        kind=Plan.Kind.REMEDIATION,
        team=Team.objects.get(kind=TeamKind.MARKETING),
        agreement=agreement,
        escalation=integrity,
        title="Fix hand-off data",
        at=timezone.now(),
        business_days=10,
    )


def test_a_hand_off_can_be_accepted_with_the_keyboard_alone(sign_in, users, agreement):
    # given
    lead, handoff = handed_off(users, to_user=users["rep"])
    page = sign_in("rep")
    # when: tab to the accept button and press Enter
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    accept = page.get_by_role("button", name="Accept as SQL")
    for _ in range(60):
        page.keyboard.press("Tab")
        if accept.evaluate("el => el === document.activeElement"):
            break
    expect(accept).to_be_focused()
    page.keyboard.press("Enter")
    # then
    expect(page.locator(f"#lead-{lead.pk} .pill")).to_have_text("SQL")
    handoff.refresh_from_db()
    assert handoff.status == Handoff.Status.ACCEPTED


def test_without_javascript_the_forms_still_work(sign_in, users, agreement):
    # given
    lead = sql(users)
    page = sign_in("rep", javascript=False)
    # when: the row's attempt form posts as a plain form
    row = page.locator(f"#lead-{lead.pk}")
    row.get_by_label("Outcome").select_option(label="Left voicemail")
    row.get_by_role("button", name="Log attempt").click()
    # then: back on the queue with the message
    expect(page.locator("#flash")).to_contain_text("Attempt logged")
    assert ContactAttempt.objects.get(lead=lead).outcome == "voicemail"


def test_a_forbidden_action_in_the_browser_says_so_and_changes_nothing(sign_in, users, agreement):
    # given: Marketing opens the hand-off's accept URL by hand
    lead, handoff = handed_off(users, to_user=users["rep"])
    page = sign_in("marketer")
    # when
    response = page.request.post(reverse("handoffs:accept", args=[handoff.pk]))
    # then
    assert response.status == 403
    handoff.refresh_from_db()
    assert handoff.status == Handoff.Status.PENDING
    assert Lead.objects.get(pk=lead.pk).state == LeadState.HANDED_OFF
