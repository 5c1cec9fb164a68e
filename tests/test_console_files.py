"""The console's files as the server serves them: no credentials needed to load them, only its own files."""

from __future__ import annotations


async def test_the_console_page_and_its_module_are_served(api):
    page = await api.client.get("/restcomm/console/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="console.js">' in page.text
    script = await api.client.get("/restcomm/console/console.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    # Only the public API: every request it makes starts from the API's base path.
    assert 'const API = "/restcomm/2012-04-24";' in script.text and "/internal/" not in script.text
    bare = await api.client.get("/restcomm/console", follow_redirects=False)
    assert (bare.status_code, bare.headers["location"]) == (308, "/restcomm/console/")


async def test_nothing_outside_the_console_directory(api):
    for path in ("/restcomm/console/../app.py", "/restcomm/console/%2e%2e/settings.py", "/restcomm/console/x.py",
                 "/restcomm/console/missing.js"):
        assert (await api.client.get(path)).status_code == 404, path
