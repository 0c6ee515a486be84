"""One router per resource; `missend.api.app.create_app` includes them."""
