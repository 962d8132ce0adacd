"""The dashboard: NiceGUI pages served at ``/`` by ``gridpilot serve``, through the services.

Pages run server-side and call the same service functions as the API, with the logged-in user's
``Principal``; NiceGUI's own WebSocket carries live updates to the browser.
"""
