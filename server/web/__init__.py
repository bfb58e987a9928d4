"""The web layer: app factory, blueprints, socket handlers and the one module that broadcasts."""
