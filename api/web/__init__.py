"""The web app: server-rendered pages for key workers, managers, finance and admins.

Pages call the same domain functions as the JSON API, inside the same one transaction per
request. Every flow works without JavaScript; a small script and a service worker only
improve it (an offline outbox for purchases, receipts and reviews). Registered on the app by
``api.web.plugin.WebPlugin``.
"""
