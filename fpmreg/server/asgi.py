"""The ASGI application for servers (`uvicorn`/`gunicorn fpmreg.server.asgi:app`)."""

from fpmreg.server.app import create_app

app = create_app()
