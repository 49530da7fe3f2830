"""The offer an Invited agent reads (smsdesk's ``offer`` in the session, docs/ui.md): what, from whom, the note,
the customer's number and when it is withdrawn; after a reload the desktop gets the same from a GET."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_operations_kit import CUST, Desk


async def test_an_offer_says_until_when_and_for_whom(api: Api) -> None:
    d = await Desk.start(api, accept=False)
    offered_at = api.clock.now_ms()
    view = await d.view("agent1")
    assert view["state"] == "Invited"
    offer = view["offer"]
    assert (offer["kind"], offer["customerNumber"]) == ("Offer", CUST)
    assert offer["expiresSeconds"] == offered_at + 30_000 and "from" not in offer
    await d.op("agent1", "Accept")
    assert "offer" not in await d.view("agent1")


async def test_a_transfer_offer_names_the_asker_and_carries_the_note(api: Api) -> None:
    d = await Desk.start(api)
    target = await d.user_uri("agent2")
    await d.op("agent1", "Transfer", targetUri=target, text="VIP, be kind", visibility="Agents")
    offer = (await d.view("agent2"))["offer"]
    assert (offer["kind"], offer["text"]) == ("Transfer", "VIP, be kind")
    assert offer["from"].startswith("Alice")
    assert await d.phone() == []  # an agents-only note never reaches the phone


async def test_a_colleague_reads_another_agents_load_without_its_sessions(api: Api) -> None:
    d = await Desk.start(api)
    uid = await api.user_id("agent1")
    user = (await api.get(f"/api/v2/users/{uid}?subresources=*", user="agent2")).json()["user"]
    (channel,) = user["channels"]
    assert (channel["userState"]["state"], channel["load"], channel["capacity"]) == ("Ready", 1, 3)
    assert "smssessions" not in user  # the sessions stay for supervisors
    await d.op("agent1", "Complete")
    user = (await api.get(f"/api/v2/users/{uid}?subresources=channels", user="agent2")).json()["user"]
    assert user["channels"][0]["load"] == 0
