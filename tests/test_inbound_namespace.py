"""Numbers and client logins share one namespace (issue 12): neither tenant can take the other's inbound calls by
naming a number like a client, or a client like a number."""

from __future__ import annotations

from tests.conftest import ADMIN_SID, make_account


async def test_a_number_spelled_like_another_tenants_client_login_is_refused(api):
    victim = await make_account("victim@company.com")
    auth = (victim.sid, "secret-password")
    created = await api.post(f"/Accounts/{victim.sid}/Clients.json", {"Login": "15550007777", "Password": "1234"},
                             auth=auth)
    assert created.status_code == 201, created.text
    for spelling in ("15550007777", "+15550007777"):
        response = await api.post(f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers.json",
                                  {"PhoneNumber": spelling, "VoiceUrl": "http://127.0.0.1:9/attacker"})
        assert response.status_code == 409, response.text
        assert "client login" in response.json()["message"]
    listed = (await api.get(f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers.json")).json()
    assert listed["incomingPhoneNumbers"] == []


async def test_a_client_login_spelled_like_another_tenants_number_is_refused(api):
    other = await make_account("other@company.com")
    auth = (other.sid, "secret-password")
    number = await api.post(f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers.json",
                            {"PhoneNumber": "+15550008888", "VoiceUrl": "http://127.0.0.1:9/owner"})
    assert number.status_code == 201, number.text
    for login in ("15550008888", "+15550008888"):
        response = await api.post(f"/Accounts/{other.sid}/Clients.json", {"Login": login, "Password": "1234"},
                                  auth=auth)
        assert response.status_code == 409, response.text
        assert "phone number" in response.json()["message"]
