"""A first sync matches its creates from one paged read of the target, not a look-up each.

Against the demo's sandboxes over loopback: homeowners written to Builder Backed and leads to
Propertybase GO cost one request per record written (plus the index's pages and a token);
the index matches exactly as a look-up does (case and blanks aside, look-alikes never, two
exact matches an ambiguity); where the index would cost more than the look-ups it saves,
the run looks records up one by one and ends the same.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from connectors.builder_backed import BuilderBackedSandbox
from connectors.buildium import BuildiumSandbox
from connectors.propertybase import PropertybaseSandbox
from hub.app import Hub
from hub.config import HubConfig
from hub.sandbox.server import SandboxServer
from tests.connectors.builder_backed.helpers import set_owners, stored_home
from tests.connectors.propertybase.helpers import count_records, seed_records

FEED = ("hoa-associations-to-warranty", "hoa-units-to-warranty", "hoa-owners-to-warranty")


async def synced(config: HubConfig, boxes: dict[str, SandboxServer], *flows: str) -> list[Any]:
    """Run the flows in order; each one's report and the requests each sandbox received."""
    done = []
    async with Hub.from_config(config) as hub:
        for flow in flows:
            before = {name: Counter(box.by_path) for name, box in boxes.items()}
            report = await hub.sync(flow)
            sent = {name: Counter(box.by_path) - before[name] for name, box in boxes.items()}
            done.append((report, sent))
    return done


def homeowner_emails(box: SandboxServer) -> list[str]:
    """Every homeowner's email the Builder Backed sandbox holds, in home order."""
    assert isinstance(box, BuilderBackedSandbox)
    return [
        owner["email"]
        for home in box.collections["homes"].page(0, 10_000)[0]
        for owner in home.get("homeowners") or []
    ]


def single_gets(sent: Counter[str], prefix: str) -> int:
    """GETs of one record under ``prefix`` (a path one level below it)."""
    return sum(n for path, n in sent.items() if path.startswith(f"GET {prefix}/"))


async def test_a_first_sync_costs_one_request_per_record_written(
    config: HubConfig, boxes: dict[str, SandboxServer]
) -> None:
    runs = await synced(config, boxes, *FEED, "warranty-homeowners-to-crm")
    _, (units, _), (owners, to_warranty), (leads, to_crm) = runs
    assert owners.created == units.created > 10 and leads.created == owners.created
    # Homeowners: one POST each; the homes are read once, in pages, for the index.
    assert single_gets(to_warranty["warranty"], "/api/v2/homes") == 0
    assert sum(to_warranty["warranty"].values()) <= owners.created + 2
    # Leads: one POST each; no look-up by email, the leads list read once.
    assert to_crm["crm"]["POST /api/v2/leads"] == leads.created
    assert sum(to_crm["crm"].values()) <= leads.created + 2


async def test_the_index_matches_exactly_as_a_look_up_does(
    config: HubConfig, boxes: dict[str, SandboxServer]
) -> None:
    runs = await synced(config, boxes, *FEED)
    emails = homeowner_emails(boxes["warranty"])
    crm = boxes["crm"]
    assert isinstance(crm, PropertybaseSandbox)
    same, ambiguous, lookalike = emails[0], emails[1], emails[2]
    # Another client's leads: one is the homeowner (another case, blanks around it), two
    # are both the second homeowner, one only contains the third's address.
    seed_records(crm, "leads", "email", [f" {same.upper()} "])
    twins = seed_records(crm, "leads", "email", [ambiguous, ambiguous.title()])
    seed_records(crm, "leads", "email", [f"jo{lookalike}"])
    leads_before = count_records(crm, "leads")
    [(report, sent)] = await synced(config, boxes, "warranty-homeowners-to-crm")
    assert (report.matched, report.ambiguous, report.failed) == (1, 1, 1)
    assert report.created == len(emails) - 2
    assert count_records(crm, "leads") == leads_before + report.created
    assert sent["crm"]["POST /api/v2/leads"] == report.created
    assert [box.collections["leads"].get(t)["last_name"] for box in [crm] for t in twins] == [
        "X",
        "X",
    ]
    assert runs[-1][0].created == len(emails)


async def test_a_homeowner_already_on_the_home_is_matched_not_added_again(
    config: HubConfig, boxes: dict[str, SandboxServer]
) -> None:
    _, (units, _) = await synced(config, boxes, *FEED[:2])
    warranty, hoa = boxes["warranty"], boxes["hoa"]
    assert isinstance(warranty, BuilderBackedSandbox) and isinstance(hoa, BuildiumSandbox)
    # The first owner is on their home already, put there by another client, in capitals.
    owner = hoa.collections["association-owners"].page(0, 1)[0][0]
    home = f"buildium:association-unit:{owner['OwnershipAccounts'][0]['UnitId']}"
    theirs = {
        "email": owner["Email"].upper(),
        "firstName": owner["FirstName"],
        "lastName": owner["LastName"],
        "homeownerType": "OTHER",
    }
    set_owners(warranty, home, [theirs])
    [(owners, sent)] = await synced(config, boxes, "hoa-owners-to-warranty")
    assert owners.matched == 1 and owners.created == units.created - 1
    # Matched, then brought up to date: still one homeowner with that email on the home.
    assert [o["email"].casefold() for o in stored_home(warranty, home)["homeowners"]] == [
        owner["Email"].casefold()
    ]
    posts = [path for path in sent["warranty"] if path.endswith("/users")]
    assert len(posts) == owners.created and f"POST /api/v2/homes/{home}/users" not in posts
    assert single_gets(sent["warranty"], "/api/v2/homes") <= 1  # the matched one's update


async def test_an_index_dearer_than_its_look_ups_is_given_up(
    config: HubConfig, boxes: dict[str, SandboxServer]
) -> None:
    await synced(config, boxes, *FEED)
    crm = boxes["crm"]
    assert isinstance(crm, PropertybaseSandbox)
    emails = homeowner_emails(boxes["warranty"])
    seed_records(crm, "leads", "email", [emails[0]])
    # One lead a page: the list is longer in pages than the run has creates.
    seed_records(crm, "leads", "email", [f"other{n}@example.net" for n in range(len(emails))])
    crm_settings = config.connectors["crm"].model_copy(update={"page_size": 1})
    small_pages = config.model_copy(
        update={"connectors": {**config.connectors, "crm": crm_settings}}
    )
    [(report, sent)] = await synced(small_pages, boxes, "warranty-homeowners-to-crm")
    assert (report.matched, report.created) == (1, len(emails) - 1)
    assert sent["crm"]["POST /api/v2/leads"] == len(emails) - 1
    # The list stated no total: it was given up once it passed the run's creates in pages,
    # and each create looked up (a full page of one, then an empty one).
    assert sent["crm"]["GET /api/v2/leads"] <= (len(emails) + 2) + 2 * len(emails)
