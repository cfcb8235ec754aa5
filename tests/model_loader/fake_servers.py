"""Loopback fakes of the Hugging Face Hub API and the GCS JSON API (no network)."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.loopback import serve


@dataclass
class FakeState:
    files: dict[str, bytes] = field(default_factory=dict)  # hub: path -> content
    corrupt: set[str] = field(default_factory=set)  # served with one byte flipped
    objects: dict[str, bytes] = field(default_factory=dict)  # gcs: name -> content
    downloads: list[str] = field(default_factory=list)
    page_size: int = 2


LFS_SUFFIXES = (".safetensors", ".bin", ".pth")


def _hub_tree(state: FakeState) -> bytes:
    entries = []
    for path, data in sorted(state.files.items()):
        entry: dict[str, object] = {"type": "file", "path": path, "size": len(data), "oid": "git"}
        if path.endswith(LFS_SUFFIXES):
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}
        entries.append(entry)
    return json.dumps(entries).encode()


def _hub_file(state: FakeState, path: str) -> bytes | None:
    if path not in state.files:
        return None
    state.downloads.append(path)
    data = state.files[path]
    return bytes([data[0] ^ 0xFF]) + data[1:] if path in state.corrupt else data


def _gcs_listing(state: FakeState, query: dict[str, list[str]]) -> bytes:
    prefix = query.get("prefix", [""])[0]
    names = sorted(n for n in state.objects if n.startswith(prefix))
    start = int(query.get("pageToken", ["0"])[0] or 0)
    page = names[start : start + state.page_size]
    listing: dict[str, object] = {
        "items": [
            {
                "name": n,
                "size": str(len(state.objects[n])),
                "md5Hash": base64.b64encode(hashlib.md5(state.objects[n]).digest()).decode(),
            }
            for n in page
        ]
    }
    if start + state.page_size < len(names):
        listing["nextPageToken"] = str(start + state.page_size)
    return json.dumps(listing).encode()


def _handler(state: FakeState, repo: str, revision: str) -> type[BaseHTTPRequestHandler]:
    tree = f"/api/models/{repo}/tree/{revision}"
    resolve = f"/{repo}/resolve/{revision}/"
    octets = "application/octet-stream"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            return

        def _send(self, code: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urllib.parse.urlparse(self.path)
            if url.path == tree:
                return self._send(200, _hub_tree(state))
            if url.path.startswith(resolve):
                data = _hub_file(state, urllib.parse.unquote(url.path[len(resolve) :]))
                return (
                    self._send(404, b"not found") if data is None else self._send(200, data, octets)
                )
            if url.path.startswith("/storage/v1/b/snapshots/o/"):
                name = urllib.parse.unquote(url.path.split("/o/", 1)[1])
                state.downloads.append(name)
                return self._send(200, state.objects[name], octets)
            if url.path == "/storage/v1/b/snapshots/o":
                return self._send(200, _gcs_listing(state, urllib.parse.parse_qs(url.query)))
            return self._send(404, b"{}")

        def do_POST(self) -> None:
            url = urllib.parse.urlparse(self.path)
            if url.path == "/upload/storage/v1/b/snapshots/o":
                name = urllib.parse.parse_qs(url.query)["name"][0]
                length = int(self.headers["Content-Length"])
                state.objects[name] = self.rfile.read(length)
                return self._send(200, json.dumps({"name": name}).encode())
            return self._send(404, b"{}")

    return Handler


@contextmanager
def fake_server(state: FakeState, repo: str, revision: str) -> Iterator[str]:
    with serve(_handler(state, repo, revision)) as url:
        yield url
