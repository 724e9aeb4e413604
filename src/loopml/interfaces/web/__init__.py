"""The team server's web UI: a single-page app in ``static/`` (plain HTML, CSS and
JavaScript, no build step) over the REST API; ``loopml.interfaces.api.pages`` serves it."""
