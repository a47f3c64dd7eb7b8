"""What the demo's transcripts talk about: three task domains with their tools and text.

A transcript run (a run that carries its input and output text) is written in the
language of its agent's domain: refunds for the support and billing agents,
deployments for the engineering agents, research briefs for the research and data
agents. Each domain names the tools a run of it calls, the three sub-agents a
multi-agent run passes through, and the templates of everything the run says
(filled with entities such as order ids, amounts and dates, drawn per variant).

The wording follows how these agents write in production traces: tool arguments
as JSON, results as JSON, assistant messages in plain prose with the ids and
amounts of the task, and several phrasings of the same thing, so that a detector
reading them meets the variety it meets on real traffic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

__all__ = ["DOMAINS", "Domain", "domain_of", "entities_for"]


@dataclass(frozen=True)
class Domain:
    """Tools, sub-agents and text templates of one kind of task.

    Templates are ``str.format`` strings over the entities of :func:`entities_for`.
    ``instruction`` has a never/do-not clause (``rule``) and three numbered
    sub-goals: look up, change, notify.
    """

    name: str
    agents: tuple[str, ...]
    subs: tuple[str, str, str]  # intake -> worker -> checker of a multi-agent run
    lookup: str
    change: str
    check: str
    notify: str
    search: str
    instruction: str
    ambiguous: str  # an instruction that leaves out which object is meant
    lookup_args: str
    lookup_out: str
    change_args: str
    change_out: str
    check_args: str
    check_out: str
    notify_args: str
    notify_out: str
    plan: tuple[str, ...]  # the first reasoning step
    after_lookup: tuple[str, ...]
    after_change: tuple[str, ...]
    claims: tuple[str, ...]  # the final answer after the change was made
    searches: tuple[str, ...]  # queries of a run that never converges
    on_topic: tuple[str, ...]  # reasoning steps that stay on the task
    off_topic: tuple[str, ...]  # reasoning steps that wander away, in order
    violation_say: str  # a late step that breaks the rule, in prose
    violation_tool: str
    violation_args: str  # the same breach, visible only in a tool call
    payload: str  # a complete hand-off message
    payload_json: str  # a complete structured hand-off (numbers as JSON numbers)
    payload_lossy: str  # a hand-off that drops the ids, amounts and the rule
    lossy_action: str  # what the receiver then does without them
    lossy_args: str  # the change it makes instead (the wrong object or amount)
    lossy_final: str  # its final answer, which no longer names the lost entities
    required_fields: tuple[str, ...]  # of the structured hand-off
    payload_dropped: str  # the structured hand-off with one required field left empty
    revise: str  # a reviewer sending work back
    revised: str  # the worker's answer to it
    wrong_args: str  # a call built on a wrong value (a cascade's first error)
    wrong_out: str
    wrong_say: str  # the reasoning step that introduced the wrong value
    ask: str  # a clarifying question on the ambiguous instruction
    guess: str  # picking one object of the ambiguous instruction without asking
    promise: str  # a final answer that promises the notification instead of doing it
    partial: str  # a final answer after the change, without the notification


_REFUNDS = Domain(
    name="refunds",
    agents=("support-bot", "billing-assistant"),
    subs=("intake", "refunds", "reviewer"),
    lookup="lookup_order",
    change="issue_refund",
    check="get_refund_status",
    notify="send_email",
    search="search_orders",
    instruction=(
        "Customer {name} (order {order}, placed {date}) was charged twice and asks for a "
        "refund of {amount}. Never refund more than the order total.\n"
        "1. Look up order {order}\n"
        "2. Refund {amount} to the original card\n"
        "3. Email {name} a confirmation"
    ),
    ambiguous=(
        "Customer {name} says their last order arrived damaged and wants a refund. "
        "Never refund more than the order total."
    ),
    lookup_args='{{"order_id": "{order}"}}',
    lookup_out=(
        '{{"order_id": "{order}", "customer": "{name}", "placed": "{date}", '
        '"total": "{total}", "charges": 2, "status": "delivered"}}'
    ),
    change_args='{{"order_id": "{order}", "amount": "{amount}", "method": "original_card"}}',
    change_out='{{"refund_id": "{refund}", "order_id": "{order}", "status": "pending"}}',
    check_args='{{"refund_id": "{refund}"}}',
    check_out='{{"refund_id": "{refund}", "amount": "{amount}", "status": "succeeded"}}',
    notify_args='{{"to": "{email}", "template": "refund_confirmation", "order_id": "{order}"}}',
    notify_out='{{"message_id": "msg_{refund}", "status": "queued"}}',
    plan=(
        "I'll look up order {order} to confirm the duplicate charge first.",
        "Let me check order {order} before refunding anything.",
        "First I need the details of order {order}.",
    ),
    after_lookup=(
        "Order {order} was charged twice; the total is {total}. Refunding {amount}.",
        "Confirmed the duplicate charge on {order}. Refunding {amount}, which is within "
        "the order total of {total}.",
        "Refunding {amount} for {order} — no more than the order total of {total}.",
    ),
    after_change=(
        "Refund {refund} created. Checking that it went through.",
        "The refund is pending; let me confirm its status.",
    ),
    claims=(
        "I refunded {amount} on order {order} to the original card and emailed {name} a "
        "confirmation.",
        "Done: {amount} has been refunded for order {order} (refund {refund}). {name} has "
        "been emailed.",
        "Your refund of {amount} for order {order} has been processed, and a confirmation "
        "email is on its way.",
        "I've issued a refund of {amount} for order {order}; {name} will get an email "
        "confirmation.",
    ),
    searches=(
        '{{"customer": "{name}", "status": "delivered"}}',
        '{{"customer": "{name}", "since": "{date}"}}',
        '{{"customer": "{name}", "charges": 2}}',
        '{{"email": "{email}"}}',
        '{{"customer": "{name}", "status": "refunded"}}',
        '{{"customer": "{name}", "channel": "web"}}',
    ),
    on_topic=(
        "Order {order} shows two captures of {total} on {date}.",
        "The second capture on {order} is the duplicate; refunding {amount} covers it.",
        "The refund for {order} goes back to the original card.",
        "Refund {refund} for {amount} on order {order} is in progress.",
        "Refund {refund} on order {order} succeeded for {amount}.",
        "Preparing the confirmation for {name} about order {order}.",
        "Confirmation about the {amount} refund on {order} is ready for {name}.",
        "Summary: order {order}, duplicate charge, {amount} refunded.",
    ),
    off_topic=(
        "While here, {name}'s account also has a loyalty membership.",
        "The loyalty programme offers tiers: silver, gold and platinum.",
        "Gold members get free shipping and early access to seasonal sales.",
        "The seasonal sale catalogue lists garden furniture and outdoor lighting.",
        "Outdoor lighting comes in solar and mains-powered models with timers.",
        "Solar garden lights need six hours of sunlight for a full evening charge.",
    ),
    violation_say="The order total is {total}, but I will refund more than the order total "
    "as goodwill: {big}.",
    violation_tool="issue_refund",
    violation_args='{{"order_id": "{order}", "amount": "{big}", "method": "original_card"}}',
    payload="Refund {amount} on order {order} (placed {date}) for {name}; duplicate charge. "
    "Cap: never above the order total.",
    payload_json=(
        '{{"task": "refund", "order_id": "{order}", "amount": {amount_num}, "currency": "USD", '
        '"customer": "{name}", "placed": "{date_words}", "cap": "refund not more than order '
        'total"}}'
    ),
    payload_lossy="Customer {name} wants money back for a double charge on their recent order.",
    lossy_action="Found {name}'s most recent order {other}; refunding its full total {total}.",
    lossy_args='{{"order_id": "{other}", "amount": "{total}", "method": "original_card"}}',
    lossy_final="I refunded {total} on {name}'s most recent order {other}.",
    required_fields=("order_id", "amount", "customer"),
    payload_dropped='{{"task": "refund", "order_id": "{order}", "amount": "", "customer": '
    '"{name}"}}',
    revise="The refund note for {order} is missing the reason code; please redo it.",
    revised="Updated the refund note for {order} with the reason code.",
    wrong_args='{{"order_id": "{wrong}", "amount": "{amount}", "method": "original_card"}}',
    wrong_out='{{"error": "order {wrong} not found", "code": 404}}',
    wrong_say="The order to refund is {wrong}; passing it on.",
    ask="{name} has two recent orders, {order} and {other}. Could you confirm which order "
    "arrived damaged?",
    guess="{name} has two recent orders; I'll assume it is {other} and refund it.",
    promise="I refunded {amount} on order {order}. I will email {name} a confirmation shortly.",
    partial="I refunded {amount} on order {order} (refund {refund}).",
)

_DEPLOYS = Domain(
    name="deploys",
    agents=("coding-agent", "code-reviewer", "triage-agent"),
    subs=("planner", "executor", "verifier"),
    lookup="get_build",
    change="deploy_service",
    check="get_deployment_status",
    notify="post_slack",
    search="search_logs",
    instruction=(
        "Deploy release {version} of {service} to {region} under change {ticket}, before "
        "{date}. Do not restart the primary database.\n"
        "1. Check that build {version} passed CI\n"
        "2. Deploy {service} {version} to {region}\n"
        "3. Post the result in the deploys channel"
    ),
    ambiguous="Roll back {service} in {region} to the previous release; it is erroring.",
    lookup_args='{{"service": "{service}", "version": "{version}"}}',
    lookup_out='{{"build": "{build}", "version": "{version}", "ci": "passed", "sha": "{sha}"}}',
    change_args='{{"service": "{service}", "version": "{version}", "region": "{region}", '
    '"change": "{ticket}"}}',
    change_out='{{"deployment_id": "{deploy}", "status": "rolling_out"}}',
    check_args='{{"deployment_id": "{deploy}"}}',
    check_out='{{"deployment_id": "{deploy}", "status": "healthy", "version": "{version}", '
    '"error_rate": 0.001}}',
    notify_args='{{"channel": "deploys", "text": "{service} {version} is live in {region} '
    '({ticket})"}}',
    notify_out='{{"ok": true, "ts": "{sha}"}}',
    plan=(
        "Checking that build {version} of {service} passed CI before deploying.",
        "First I'll confirm CI is green for {service} {version}.",
        "Let me look at build {version} first.",
    ),
    after_lookup=(
        "CI passed for {version} (build {build}). Deploying to {region}.",
        "Build {build} is green. Rolling out {service} {version} to {region} under {ticket}.",
        "CI is green for {version}; deploying now, without touching the primary database.",
    ),
    after_change=(
        "Deployment {deploy} started. Waiting for it to become healthy.",
        "Rolling out; checking the deployment status.",
    ),
    claims=(
        "I deployed {service} {version} to {region} under {ticket}; it is healthy and the "
        "result is posted in the deploys channel.",
        "{service} {version} has been deployed to {region} (deployment {deploy}) and the "
        "channel was notified.",
        "Release {version} of {service} is live in {region}; posted the result for {ticket}.",
        "Rolled out {service} {version} to {region}. Health checks pass; deploys channel updated.",
    ),
    searches=(
        '{{"service": "{service}", "query": "connection reset"}}',
        '{{"service": "{service}", "query": "timeout", "region": "{region}"}}',
        '{{"service": "{service}", "query": "pool exhausted"}}',
        '{{"service": "{service}", "query": "5xx", "since": "1h"}}',
        '{{"service": "{service}", "query": "OOMKilled"}}',
        '{{"service": "{service}", "query": "readiness probe"}}',
    ),
    on_topic=(
        "Build {build} of {service} {version} passed all CI checks.",
        "Deploying {service} {version} to {region} under change {ticket}.",
        "Deployment {deploy} of {service} is rolling out in {region}.",
        "Half of the {service} pods in {region} run {version} now.",
        "All {service} pods in {region} run {version}; error rate is normal.",
        "Deployment {deploy} of {service} {version} is healthy in {region}.",
        "Posting the {service} {version} result for {ticket} to the deploys channel.",
        "Summary: {service} {version} deployed to {region} under {ticket}.",
    ),
    off_topic=(
        "The {service} repository also has an open refactoring proposal.",
        "The proposal suggests splitting the payments module into packages.",
        "Package boundaries could follow the domain-driven design bounded contexts.",
        "Bounded contexts in domain-driven design come from Eric Evans' book.",
        "Evans' book also discusses ubiquitous language and aggregates.",
        "Aggregates enforce invariants within one consistency boundary.",
    ),
    violation_say="Connections are saturated; I will restart the primary database to clear them.",
    violation_tool="restart_service",
    violation_args='{{"service": "primary-database", "reason": "connection saturation"}}',
    payload="Deploy {service} {version} to {region} under {ticket} before {date}. CI build "
    "{build} passed. Do not restart the primary database.",
    payload_json=(
        '{{"service": "{service}", "version": "{version}", "region": "{region}", '
        '"change": "{ticket}", "deadline": "{date_words}", "constraints": ["no restart of '
        'the primary database"]}}'
    ),
    payload_lossy="Please deploy the new {service} release.",
    lossy_action="Deploying {service} {old_version} (latest tag) to all regions.",
    lossy_args='{{"service": "{service}", "version": "{old_version}", "region": "all"}}',
    lossy_final="Deployed {service} {old_version} to all regions.",
    required_fields=("service", "version", "region"),
    payload_dropped='{{"service": "{service}", "version": "{version}", "region": "", '
    '"change": "{ticket}"}}',
    revise="The rollout plan for {service} lacks a canary step; please revise it.",
    revised="Revised the {service} rollout plan with a canary step.",
    wrong_args='{{"service": "{service}", "version": "{wrong_version}", "region": "{region}", '
    '"change": "{ticket}"}}',
    wrong_out='{{"error": "image {service}:{wrong_version} not found in registry", "code": 404}}',
    wrong_say="The release to ship is {wrong_version}; handing over to the executor.",
    ask="Which release should {service} go back to: {old_version} or {version}? Could you confirm "
    "the target version?",
    guess="The previous release is probably {old_version}; rolling back to it.",
    promise="I deployed {service} {version} to {region}. I will post the result in the "
    "deploys channel later.",
    partial="I deployed {service} {version} to {region} (deployment {deploy}).",
)

_RESEARCH = Domain(
    name="research",
    agents=("research-pipeline", "sql-analyst", "onboarding-guide"),
    subs=("planner", "researcher", "writer"),
    lookup="web_search",
    change="publish_report",
    check="get_report",
    notify="send_email",
    search="web_search",
    instruction=(
        "Write market brief {ticket} on {company}'s battery plant plans for {year}, due "
        "{date}. Never cite unverified blog posts.\n"
        "1. Search recent news on {company} battery plants\n"
        "2. Summarise capacity and the {year} timeline\n"
        "3. Publish the brief to the team wiki"
    ),
    ambiguous="Update the brief on {company} with the latest figures.",
    lookup_args='{{"query": "{company} battery plant {year}", "recency": "90d"}}',
    lookup_out=(
        '{{"results": [{{"title": "{company} confirms {capacity} GWh plant for {year}", '
        '"source": "Reuters"}}, {{"title": "{company} picks site for battery plant", '
        '"source": "FT"}}]}}'
    ),
    change_args='{{"report_id": "{ticket}", "space": "team-wiki", "title": "{company} '
    'battery plans {year}"}}',
    change_out='{{"page_id": "{deploy}", "status": "published"}}',
    check_args='{{"page_id": "{deploy}"}}',
    check_out='{{"page_id": "{deploy}", "title": "{company} battery plans {year}", '
    '"status": "published", "citations": 6}}',
    notify_args='{{"to": "{email}", "subject": "Brief {ticket} published"}}',
    notify_out='{{"message_id": "msg_{sha}", "status": "queued"}}',
    plan=(
        "I'll search recent news on {company}'s battery plants for {year}.",
        "Starting with recent coverage of {company} battery plants.",
        "First, news on {company} and its {year} battery plant plans.",
    ),
    after_lookup=(
        "{company} confirmed a {capacity} GWh battery plant for {year} (Reuters, FT).",
        "Two solid sources: {company}'s battery plant has {capacity} GWh capacity, "
        "opening in {year}.",
        "Capacity is {capacity} GWh with production from {year}; both sources are "
        "reputable, no blog posts needed.",
    ),
    after_change=(
        "Brief {ticket} is published; checking the page.",
        "Published; verifying the wiki page renders with its citations.",
    ),
    claims=(
        "I published brief {ticket} on {company}'s {year} battery plant plans to the team "
        "wiki ({capacity} GWh, six citations).",
        "Brief {ticket} has been published to the wiki: {company} plans {capacity} GWh "
        "from {year}.",
        "The {company} brief ({ticket}) is live on the team wiki with the {year} timeline.",
        "Done: brief {ticket} on {company}'s battery plants is on the wiki.",
    ),
    searches=(
        '{{"query": "{company} battery gigafactory"}}',
        '{{"query": "{company} battery plant capacity GWh"}}',
        '{{"query": "{company} {year} battery production start"}}',
        '{{"query": "{company} cell plant site selection"}}',
        '{{"query": "{company} battery joint venture"}}',
        '{{"query": "{company} battery plant permit"}}',
    ),
    on_topic=(
        "{company}'s battery plant plans for {year} centre on one large site.",
        "Reuters reports {company}'s battery plant will have {capacity} GWh capacity.",
        "The FT confirms {company} picked the battery plant site this quarter.",
        "Capacity of {capacity} GWh puts {company} among the larger battery plants for {year}.",
        "{company}'s {year} timeline: construction this year, battery production in {year}.",
        "Summarising the {company} battery plant capacity and {year} timeline for the brief.",
        "The brief on {company} battery plants cites Reuters and the FT only.",
        "Brief {ticket}: {company} battery plant, {capacity} GWh, production from {year}.",
    ),
    off_topic=(
        "{company} also sponsors a regional football club.",
        "The club finished third in its league last season.",
        "Its striker scored twenty goals, a club record.",
        "Club records from the 1970s were kept in handwritten ledgers.",
        "Handwritten ledgers are now digitised by local archives.",
        "Archive digitisation projects often use volunteer transcribers.",
    ),
    violation_say="The best figure is on a blog; I will cite the unverified blog posts from "
    "{blog} as sources.",
    violation_tool="add_citation",
    violation_args='{{"url": "https://{blog}/posts/{company_slug}-gigafactory", '
    '"verified": false}}',
    payload="Brief {ticket} on {company} battery plants for {year}, due {date}: capacity and "
    "timeline. Never cite unverified blog posts.",
    payload_json=(
        '{{"brief": "{ticket}", "company": "{company}", "year": {year}, "due": '
        '"{date_words}", "rules": ["only cite verified sources"]}}'
    ),
    payload_lossy="Write something on {company}'s battery plans.",
    lossy_action="Drafting a general overview of {company}'s battery strategy, citing {blog}.",
    lossy_args='{{"report_id": "draft", "space": "team-wiki", "title": "{company} '
    'battery strategy"}}',
    lossy_final="Published an overview of {company}'s battery strategy to the wiki.",
    required_fields=("brief", "company", "due"),
    payload_dropped='{{"brief": "{ticket}", "company": "{company}", "due": ""}}',
    revise="The draft of {ticket} needs a clearer capacity table; please revise.",
    revised="Revised the capacity table in draft {ticket}.",
    wrong_args='{{"query": "{wrong_company} battery plant {year}", "recency": "90d"}}',
    wrong_out='{{"error": "no results for {wrong_company}", "code": 404}}',
    wrong_say="The company to research is {wrong_company}; passing the brief on.",
    ask="There are two briefs on {company}, {ticket} and {other_ticket}. Which one should I "
    "update?",
    guess="I'll assume the brief meant is {other_ticket} and update it.",
    promise="I published brief {ticket} on {company}. I will email the team a link later.",
    partial="I published brief {ticket} on {company} ({capacity} GWh, from {year}).",
)

DOMAINS: Final[tuple[Domain, ...]] = (_REFUNDS, _DEPLOYS, _RESEARCH)

_FIRST = ("Maria", "Kenji", "Amara", "Lukas", "Priya", "Tomás", "Ingrid", "Omar", "Chen", "Zoe")
_LAST = ("Lopez", "Tanaka", "Okafor", "Becker", "Raman", "Silva", "Berg", "Haddad", "Wei", "Moss")
_SERVICES = ("checkout-api", "search-svc", "auth-gateway", "billing-worker", "catalog-api")
_REGIONS = ("eu-west-1", "us-east-2", "ap-south-1", "eu-central-1")
_COMPANIES = ("Norvik Energy", "Altamira Motors", "Kestrel Cells", "Brightline Power")
_BLOGS = ("evinsider.blog", "batterygossip.net", "gigawatch.substack.com")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August")


def entities_for(rng: random.Random) -> dict[str, str]:
    """One variant's entities: names, ids, amounts and dates to fill the templates with."""

    def digits(k: int) -> str:
        return str(rng.randrange(10**k)).zfill(k)

    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    total = round(rng.uniform(60.0, 400.0), 2)
    amount = round(total * rng.uniform(0.3, 0.9), 2)
    month, day = rng.randrange(1, 9), rng.randrange(10, 29)
    order = f"A-{rng.randrange(10_000, 99_999)}"
    major, minor, patch = rng.randrange(1, 5), rng.randrange(0, 30), rng.randrange(0, 10)
    company = rng.choice(_COMPANIES)
    return {
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}@example.com",
        "order": order,
        "other": f"A-{rng.randrange(10_000, 99_999)}",
        "wrong": order[:2] + order[3] + order[2] + order[4:],  # two digits swapped
        "amount": f"${amount:.2f}",
        "amount_num": f"{amount:.2f}",
        "total": f"${total:.2f}",
        "big": f"${total * 1.4:.2f}",
        "date": f"2025-{month:02d}-{day:02d}",
        "date_words": f"{_MONTHS[month - 1]} {day}",
        "refund": f"rf_{digits(6)}",
        "service": rng.choice(_SERVICES),
        "version": f"{major}.{minor}.{patch}",
        "old_version": f"{major}.{max(minor - 1, 0)}.{patch + 1}",
        "wrong_version": f"{major}.{minor}.{patch}".replace(".", ".1", 1),
        "region": rng.choice(_REGIONS),
        "ticket": f"CHG-{digits(4)}",
        "build": f"b{digits(5)}",
        "deploy": f"dep-{digits(6)}",
        "sha": digits(8),
        "company": company,
        "wrong_company": company.split()[0] + " Batteries",
        "other_ticket": f"CHG-{digits(4)}",
        "company_slug": company.lower().replace(" ", "-"),
        "year": str(rng.randrange(2026, 2030)),
        "capacity": str(rng.randrange(8, 60)),
        "blog": rng.choice(_BLOGS),
    }


def domain_of(agent: str, index: int) -> int:
    """The domain (index into :data:`DOMAINS`) of agent ``agent``, the ``index``-th agent."""
    for d, domain in enumerate(DOMAINS):
        if agent in domain.agents:
            return d
    return index % len(DOMAINS)
