"""``penbot studio``: serve the local web page (write, preview, download, your own hand)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import typer

from penbot.cli import app
from penbot.errors import PenbotError

HOST = "127.0.0.1"  # loopback only: the studio is for the person at this computer


def bind(port: int) -> socket.socket:
    """The listening socket, bound here so a busy port is one clear error (and port 0 picks one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise PenbotError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc}): try another --port") from None
    return sock


@app.command("studio")
def studio_cmd(
    port: int = typer.Option(8765, help="Port on 127.0.0.1 (0: any free port)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Only print the URL; do not open a browser."),
    model: Path = typer.Option(None, help="Model file (default: the shipped model)."),
) -> None:
    """Start the studio: a local web page to write, preview and download, and to add your own hand.

    Example: penbot studio --port 8765
    """
    try:
        import uvicorn

        from penbot.studio.app import create_app
        from penbot.studio.security import make_token
    except ImportError:
        raise PenbotError("the studio needs its extra: pip install 'penbot[studio]'") from None
    if not 0 <= port <= 65535:
        raise PenbotError(f"--port must be 0-65535, not {port}")
    sock = bind(port)
    port = sock.getsockname()[1]
    token = make_token()
    web = create_app(token=token, port=port, model_path=model)
    server = uvicorn.Server(uvicorn.Config(web, log_level="warning", access_log=False))
    url = f"http://{HOST}:{port}/?token={token}"

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            print(f"penbot studio: {url}\n(Ctrl-C to stop)", flush=True)
            if not no_browser:
                import webbrowser

                webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run(sockets=[sock])
