"""A small, real Hugging Face Hub look-alike on 127.0.0.1, for tests without network.

It speaks the part of the Hub protocol that `huggingface_hub` (2.x) uses to download files:

* ``HEAD``/``GET /{repo_id}/resolve/{revision}/{path}`` (revision URL-encoded, e.g. ``refs%2Fpr%2F1``):
  - regular ("git") files: ``200`` with ``X-Repo-Commit``, ``ETag`` (git blob sha1),
    ``Content-Length``; ``GET`` returns the bytes (``Range`` supported);
  - LFS files (``*.safetensors``, ``*.bin``, ``*.onnx``, ... or big files): ``302`` to a second
    listener (the "CDN", another port, hence another origin, like the real Hub's CDN) with
    ``X-Repo-Commit``, ``X-Linked-Etag`` (sha256) and ``X-Linked-Size``; the client takes the
    metadata from this response and downloads from the ``Location``;
  - errors: ``404`` with ``X-Error-Code: RepoNotFound`` / ``RevisionNotFound`` / ``EntryNotFound``
    (the last one with ``X-Repo-Commit``, which the client uses to cache the file's absence).
  No ``X-Xet-Hash`` / xet-auth ``Link`` header is ever sent, so the client uses plain HTTP.
* ``GET /api/agent-harnesses``: huggingface_hub 2.x fetches it (from the ``HF_ENDPOINT`` it saw at
  import) once per process when it first builds request headers; an empty registry is served.
* ``GET /api/models/{repo_id}`` and ``/api/models/{repo_id}/revision/{revision}`` (``repo_info``,
  used by ``snapshot_download`` to resolve a branch to a commit), and
  ``GET /api/models/{repo_id}/tree/{revision}[/{path}]`` (``list_repo_tree``).

And the part `HfApi.create_repo` / `create_branch` / `create_commit` (huggingface_hub 2.4) use to upload:

* ``POST /api/repos/create`` (JSON ``name``, ``organization``, ``visibility``): creates the repo with a
  first commit holding ``.gitattributes``, like the Hub; ``409`` if it exists. Visibility is kept in
  `HubServer.repo_settings`.
* ``POST /api/models/{repo_id}/branch/{branch}`` (JSON ``startingPoint``): a branch from main; ``409`` if it exists.
* ``POST /api/validate-yaml``: the README metadata check; always valid.
* ``POST /api/models/{repo_id}/preupload/{revision}``: upload mode per file (``lfs`` for LFS suffixes
  or big files, else ``regular``) and the oid of the file already there (so unchanged files are skipped).
* ``POST /{repo_id}.git/info/lfs/objects/batch`` (git-LFS batch API, ``basic`` transfer): an upload action
  (``PUT`` to the CDN listener, ``/upload/{sha256}``; the CDN checks the sha256) and a verify action
  (``POST /{repo_id}.git/info/lfs/objects/verify``); objects already stored get no action.
* ``POST /api/models/{repo_id}/commit/{branch}`` (NDJSON: ``header``, ``file`` base64, ``lfsFile`` by
  sha256, ``deletedFile``, ``deletedFolder``): a new commit on the branch; ``412`` when ``parentCommit``
  is not the branch head. Answers ``commitOid`` / ``commitUrl``.
  Xet is not served: with `hf_xet` installed huggingface_hub 2.4 uploads through Xet unconditionally, so
  tests that upload set ``huggingface_hub.constants.HF_HUB_DISABLE_XET`` (or ``HF_HUB_DISABLE_XET=1`` for
  a subprocess) to take the LFS path.

Every request is recorded (`requests`, `count()`), so a test can assert that a cached / offline
run made no request at all. Use the `hub_server` / `hub` fixtures at the bottom.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

LFS_SUFFIXES = (".safetensors", ".bin", ".onnx", ".pt", ".pth", ".ckpt", ".h5", ".npz", ".zip")
LFS_THRESHOLD = 10 * 1024 * 1024
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    sha = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(data)}\n".encode()


@dataclass
class Commit:
    sha: str
    files: dict[str, bytes]
    parent: str | None
    message: str


@dataclass
class Repo:
    repo_id: str
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # branches and tags -> commit sha

    def resolve(self, revision: str) -> Commit | None:
        if revision in self.refs:
            return self.commits[self.refs[revision]]
        if _COMMIT_RE.match(revision):
            return self.commits.get(revision)
        return None


@dataclass(frozen=True)
class RecordedRequest:
    server: str  # "hub" or "cdn"
    method: str
    path: str  # decoded path, without the query
    status: int


class _Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer that can close its kept-alive connections. huggingface_hub keeps connections open in
    a process-wide pool; a handler thread left serving one after `stop` would answer the next test's server
    when the OS hands that server the same port (in CI a Hub request got a reply without X-Repo-Commit, most likely
    from an earlier test's CDN handler)."""

    daemon_threads = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def get_request(self):
        sock, address = super().get_request()
        with self._connections_lock:
            self._connections.add(sock)
        return sock, address

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            open_now = list(self._connections)
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # the handler's next read ends; the client sees the close
            except OSError:
                pass


class HubServer:
    """In-memory Hub: repos -> commits -> files, branch/tag refs, request log."""

    def __init__(self, *, lfs_suffixes: tuple[str, ...] = LFS_SUFFIXES, lfs_threshold: int = LFS_THRESHOLD):
        self.repos: dict[str, Repo] = {}
        self.lfs_suffixes = lfs_suffixes
        self.lfs_threshold = lfs_threshold
        self.requests: list[RecordedRequest] = []
        self.force_status: int | None = None  # e.g. 503: every request fails with it
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        self._blobs: dict[str, bytes] = {}  # sha256 -> content, served by the CDN
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self.repo_settings: dict[str, dict] = {}  # repo_id -> {"private": bool}, for repos created over HTTP
        self.url = ""
        self.cdn_url = ""

    # ---------------------------------------------------------------- content

    def create_repo(self, repo_id: str) -> Repo:
        with self._lock:
            return self.repos.setdefault(repo_id, Repo(repo_id))

    def commit(self, repo_id: str, files: dict[str, bytes | str | None], *, branch: str = "main",
               message: str | None = None, replace: bool = False) -> str:
        """Add a commit on `branch` (created if needed) and return its 40-hex sha. `files` are
        merged onto the branch's current tree (a value of None deletes), or replace it."""
        with self._lock:
            repo = self.create_repo(repo_id)
            parent = repo.refs.get(branch)
            tree = {} if (replace or parent is None) else dict(repo.commits[parent].files)
            for path, content in files.items():
                if content is None:
                    tree.pop(path, None)
                else:
                    tree[path] = content.encode() if isinstance(content, str) else bytes(content)
            n = next(self._counter)
            digest = hashlib.sha1(f"{repo_id}\n{parent}\n{n}\n".encode())
            for path in sorted(tree):
                digest.update(f"{path}\0{git_blob_sha1(tree[path])}\n".encode())
            sha = digest.hexdigest()
            repo.commits[sha] = Commit(sha, tree, parent, message or f"commit {n}")
            repo.refs[branch] = sha
            for content in tree.values():
                self._blobs[hashlib.sha256(content).hexdigest()] = content
            return sha

    def set_ref(self, repo_id: str, ref: str, revision: str) -> str:
        """Point branch or tag `ref` at `revision` (a ref or commit); returns the commit sha."""
        with self._lock:
            repo = self.repos[repo_id]
            commit = repo.resolve(revision)
            if commit is None:
                raise KeyError(revision)
            repo.refs[ref] = commit.sha
            return commit.sha

    def is_lfs(self, path: str, content: bytes) -> bool:
        return path.lower().endswith(self.lfs_suffixes) or len(content) >= self.lfs_threshold

    # ---------------------------------------------------------------- request log

    def count(self, path: str | None = None, *, method: str | None = None, server: str | None = None) -> int:
        """Number of recorded requests, optionally only those whose path contains `path`."""
        with self._lock:
            return sum(1 for r in self.requests
                       if (path is None or path in r.path) and (method is None or r.method == method)
                       and (server is None or r.server == server))

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def _record(self, server: str, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(server, method, path, status))

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> HubServer:
        for name in ("hub", "cdn"):
            httpd = _Server(("127.0.0.1", 0), _Handler)
            httpd.hub = self  # type: ignore[attr-defined]
            httpd.role = name  # type: ignore[attr-defined]
            thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"fake-{name}", daemon=True)
            thread.start()
            self._servers.append(httpd)
            self._threads.append(thread)
        self.url = f"http://127.0.0.1:{self._servers[0].server_address[1]}"
        self.cdn_url = f"http://127.0.0.1:{self._servers[1].server_address[1]}"
        return self

    def stop(self) -> None:
        for httpd in self._servers:
            httpd.shutdown()
            httpd.close_connections()
            httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeHub/1.0"

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    @property
    def hub(self) -> HubServer:
        return self.server.hub  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- plumbing

    def do_HEAD(self):  # noqa: N802
        self._dispatch(head=True)

    def do_GET(self):  # noqa: N802
        self._dispatch(head=False)

    def _dispatch(self, *, head: bool) -> None:
        split = urlsplit(self.path)
        self._query = parse_qs(split.query)
        self._segments = [unquote(s) for s in split.path.split("/")[1:]]
        self._path = unquote(split.path)
        self._recorded = False
        try:
            if self.hub.force_status is not None:
                self._error(self.hub.force_status, None, "Forced failure", head)
            elif self.server.role == "cdn":  # type: ignore[attr-defined]
                self._cdn(head)
            else:
                self._hub(head)
        finally:
            if not self._recorded:  # the handler crashed before answering
                self.hub._record(self.server.role, self.command, self._path, 500)  # type: ignore[attr-defined]

    def _send(self, status: int, headers: dict[str, str], body: bytes, head: bool) -> None:
        # Record before answering: once the client has its response, the log already shows the request.
        self.hub._record(self.server.role, self.command, self._path, status)  # type: ignore[attr-defined]
        self._recorded = True
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _json(self, data, head: bool, status: int = 200) -> None:
        body = json.dumps(data).encode()
        self._send(status, {"Content-Type": "application/json; charset=utf-8"}, body, head)

    def _error(self, status: int, code: str | None, message: str, head: bool, commit: str | None = None) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        if commit:
            headers["X-Repo-Commit"] = commit
        self._send(status, headers, json.dumps({"error": message}).encode(), head)

    def _content(self, data: bytes, headers: dict[str, str], head: bool) -> None:
        """200 with the bytes, or 206 for a `Range: bytes=N-[M]` request."""
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes", **headers}
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", "").strip())
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            if start >= len(data):
                self._send(416, {"Content-Range": f"bytes */{len(data)}"}, b"", head)
                return
            end = min(end, len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            self._send(206, headers, data[start:end + 1], head)
            return
        self._send(200, headers, data, head)

    # ---------------------------------------------------------------- routes

    def _split_repo(self, parts: list[str], marker_positions=(2, 1)) -> tuple[str, list[str]] | None:
        """`org/name/<rest>` or `name/<rest>` -> (repo_id, rest), choosing the form of a known repo."""
        for n in marker_positions:
            if len(parts) >= n and "/".join(parts[:n]) in self.hub.repos:
                return "/".join(parts[:n]), parts[n:]
        return None

    def _hub(self, head: bool) -> None:
        seg = self._segments
        if len(seg) >= 2 and seg[0] == "api" and seg[1] in ("models", "datasets", "spaces"):
            return self._api(seg[2:], head)
        if seg == ["api", "agent-harnesses"]:  # fetched once per process (and day) by huggingface_hub's headers
            return self._json({"standardEnvVars": [], "harnesses": {}}, head)
        # /{repo_id}/resolve/{revision}/{path...}
        for n in (2, 1):
            if len(seg) > n + 2 and seg[n] == "resolve":
                return self._resolve("/".join(seg[:n]), seg[n + 1], "/".join(seg[n + 2:]), head)
        self._error(404, None, "Not found", head)

    def _resolve(self, repo_id: str, revision: str, path: str, head: bool) -> None:
        hub = self.hub
        with hub._lock:
            repo = hub.repos.get(repo_id)
            commit = repo.resolve(revision) if repo else None
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found", head)
        if commit is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head)
        data = commit.files.get(path)
        if data is None:
            return self._error(404, "EntryNotFound", f"{path} does not exist on \"{revision}\"", head, commit.sha)
        headers = {"X-Repo-Commit": commit.sha}
        if hub.is_lfs(path, data):
            sha256 = hashlib.sha256(data).hexdigest()
            pointer = lfs_pointer(data)
            location = f"{hub.cdn_url}/lfs/{sha256}?filename={quote(path.rsplit('/', 1)[-1])}"
            headers.update({
                "Location": location,
                "ETag": f'"{git_blob_sha1(pointer)}"',
                "X-Linked-Etag": f'"{sha256}"',
                "X-Linked-Size": str(len(data)),
                "Content-Type": "text/plain; charset=utf-8",
            })
            return self._send(302, headers, f"Found. Redirecting to {location}".encode(), head)
        headers["ETag"] = f'"{git_blob_sha1(data)}"'
        self._content(data, headers, head)

    def _cdn(self, head: bool) -> None:
        seg = self._segments
        data = self.hub._blobs.get(seg[1]) if len(seg) == 2 and seg[0] == "lfs" else None
        if data is None:
            return self._send(404, {"Content-Type": "text/plain"}, b"NoSuchKey", head)
        filename = self._query.get("filename", ["file"])[0]
        self._content(data, {"ETag": f'"{seg[1]}"',
                             "Content-Disposition": f'attachment; filename="{filename}";'}, head)

    def _api(self, parts: list[str], head: bool) -> None:
        hub = self.hub
        found = self._split_repo(parts)
        if found is None:
            return self._error(404, "RepoNotFound", "Repository not found", head)
        repo_id, rest = found
        repo = hub.repos[repo_id]
        if not rest or rest[0] == "revision":
            revision = rest[1] if len(rest) > 1 else "main"
            commit = repo.resolve(revision)
            if commit is None:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head)
            return self._json({
                "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
                "id": repo_id,
                "modelId": repo_id,
                "sha": commit.sha,
                "private": False,
                "disabled": False,
                "gated": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "lastModified": "2024-01-01T00:00:00.000Z",
                "createdAt": "2024-01-01T00:00:00.000Z",
                "siblings": [{"rfilename": p} for p in sorted(commit.files)],
            }, head)
        if rest[0] == "tree" and len(rest) >= 2:
            commit = repo.resolve(rest[1])
            if commit is None:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {rest[1]}", head)
            prefix = "/".join(rest[2:]).strip("/")
            recursive = self._query.get("recursive", ["false"])[0].lower() == "true"
            return self._json(self._tree(commit, prefix, recursive), head)
        self._error(404, None, "Not found", head)

    def _tree(self, commit: Commit, prefix: str, recursive: bool) -> list[dict]:
        entries: dict[str, dict] = {}
        base = f"{prefix}/" if prefix else ""
        for path, data in sorted(commit.files.items()):
            if not path.startswith(base):
                continue
            parts = path[len(base):].split("/")
            for depth in range(1, len(parts)):  # folders on the way
                folder = base + "/".join(parts[:depth])
                if recursive or depth == 1:
                    entries.setdefault(folder, {"type": "directory", "path": folder, "size": 0,
                                                "oid": hashlib.sha1(folder.encode()).hexdigest()})
            if len(parts) > 1 and not recursive:
                continue
            entry = {"type": "file", "path": path, "size": len(data), "oid": git_blob_sha1(data)}
            if self.hub.is_lfs(path, data):
                pointer = lfs_pointer(data)
                entry["oid"] = git_blob_sha1(pointer)
                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                                "pointerSize": len(pointer)}
            entries[path] = entry
        return list(entries.values())

    # ---------------------------------------------------------------- uploads (POST / PUT)

    def do_POST(self):  # noqa: N802
        self._dispatch_upload()

    def do_PUT(self):  # noqa: N802
        self._dispatch_upload()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch_upload(self) -> None:
        split = urlsplit(self.path)
        self._query = parse_qs(split.query)
        self._segments = [unquote(s) for s in split.path.split("/")[1:]]
        self._path = unquote(split.path)
        self._recorded = False
        try:
            body = self._read_body()
            if self.hub.force_status is not None:
                self._error(self.hub.force_status, None, "Forced failure", False)
            elif self.server.role == "cdn":  # type: ignore[attr-defined]
                self._cdn_upload(body)
            else:
                self._hub_upload(body)
        finally:
            if not self._recorded:
                self.hub._record(self.server.role, self.command, self._path, 500)  # type: ignore[attr-defined]

    def _body_json(self, body: bytes):
        try:
            return json.loads(body or b"{}")
        except json.JSONDecodeError:
            return None

    def _hub_upload(self, body: bytes) -> None:
        seg = self._segments
        if self.command == "POST" and seg == ["api", "validate-yaml"]:
            return self._json({"errors": [], "warnings": []}, False)
        if self.command == "POST" and seg == ["api", "repos", "create"]:
            return self._create_repo(self._body_json(body))
        for i, part in enumerate(seg):  # /{repo_id}.git/info/lfs/objects/{batch,verify}
            if part.endswith(".git") and seg[i + 1:i + 4] == ["info", "lfs", "objects"] and len(seg) == i + 5:
                repo_id = "/".join(seg[:i] + [part[:-4]])
                if repo_id not in self.hub.repos:
                    return self._error(404, "RepoNotFound", "Repository not found", False)
                if seg[i + 4] == "batch":
                    return self._lfs_batch(repo_id, self._body_json(body))
                if seg[i + 4] == "verify":
                    return self._lfs_verify(self._body_json(body))
        if self.command == "POST" and len(seg) >= 5 and seg[:2] == ["api", "models"]:
            found = self._split_repo(seg[2:])
            if found is None:
                return self._error(404, "RepoNotFound", "Repository not found", False)
            repo_id, rest = found
            if len(rest) == 2 and rest[0] == "branch":
                return self._create_branch(repo_id, rest[1], self._body_json(body) or {})
            if len(rest) == 2 and rest[0] == "preupload":
                return self._preupload(repo_id, rest[1], self._body_json(body))
            if len(rest) == 2 and rest[0] == "commit":
                return self._commit(repo_id, rest[1], body)
        self._error(404, None, "Not found", False)

    def _create_repo(self, payload) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            return self._error(400, None, "Invalid payload", False)
        if payload.get("type") not in (None, "model"):
            return self._error(400, None, "Only model repos are served here", False)
        org = payload.get("organization")
        repo_id = f"{org}/{payload['name']}" if org else payload["name"]
        with self.hub._lock:
            if repo_id in self.hub.repos:
                return self._send(409, {"Content-Type": "application/json", "X-Error-Message": "Repo exists"},
                                  json.dumps({"error": "You already created this model repo",
                                              "url": f"{self.hub.url}/{repo_id}"}).encode(), False)
            self.hub.commit(repo_id, {".gitattributes": "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
                                                        "*.onnx filter=lfs diff=lfs merge=lfs -text\n"},
                            message="initial commit")
            self.hub.repo_settings[repo_id] = {"private": payload.get("visibility") == "private"
                                               or payload.get("private") is True}
        self._json({"url": f"{self.hub.url}/{repo_id}", "name": repo_id}, False)

    def _create_branch(self, repo_id: str, branch: str, payload: dict) -> None:
        with self.hub._lock:
            repo = self.hub.repos[repo_id]
            if branch in repo.refs:
                return self._error(409, None, f"Reference already exists: {branch}", False)
            start = repo.resolve(payload.get("startingPoint") or "main")
            if start is None:
                return self._error(404, "RevisionNotFound", "Invalid starting point", False)
            repo.refs[branch] = start.sha
        self._json({}, False)

    def _preupload(self, repo_id: str, revision: str, payload) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("files"), list):
            return self._error(400, None, "Invalid payload", False)
        with self.hub._lock:
            commit = self.hub.repos[repo_id].resolve(revision)
        if commit is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", False)
        files = []
        for item in payload["files"]:
            path, size = item.get("path"), int(item.get("size") or 0)
            lfs = path.lower().endswith(self.hub.lfs_suffixes) or size >= self.hub.lfs_threshold
            existing = commit.files.get(path)
            oid = None
            if existing is not None:
                oid = hashlib.sha256(existing).hexdigest() if self.hub.is_lfs(path, existing) else git_blob_sha1(existing)
            files.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
        self._json({"files": files, "commitOid": commit.sha}, False)

    def _lfs_json(self, data, status: int = 200) -> None:
        self._send(status, {"Content-Type": "application/vnd.git-lfs+json"}, json.dumps(data).encode(), False)

    def _lfs_batch(self, repo_id: str, payload) -> None:
        if not isinstance(payload, dict) or payload.get("operation") != "upload":
            return self._error(400, None, "Only uploads are served by this batch endpoint", False)
        if "basic" not in (payload.get("transfers") or ["basic"]):
            return self._error(400, None, "Only the basic transfer is served", False)
        objects = []
        for obj in payload.get("objects") or []:
            oid, size = obj.get("oid"), obj.get("size")
            entry = {"oid": oid, "size": size}
            if oid not in self.hub._blobs:
                entry["authenticated"] = True
                entry["actions"] = {
                    "upload": {"href": f"{self.hub.cdn_url}/upload/{oid}"},
                    "verify": {"href": f"{self.hub.url}/{repo_id}.git/info/lfs/objects/verify"},
                }
            objects.append(entry)
        self._lfs_json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def _lfs_verify(self, payload) -> None:
        oid = payload.get("oid") if isinstance(payload, dict) else None
        data = self.hub._blobs.get(oid)
        if data is None or len(data) != payload.get("size"):
            return self._error(404, None, f"Object {oid} not found", False)
        self._lfs_json({"oid": oid, "size": len(data)})

    def _cdn_upload(self, body: bytes) -> None:
        seg = self._segments
        if self.command != "PUT" or len(seg) != 2 or seg[0] != "upload":
            return self._send(404, {"Content-Type": "text/plain"}, b"NoSuchUpload", False)
        if hashlib.sha256(body).hexdigest() != seg[1]:
            return self._send(400, {"Content-Type": "text/plain"}, b"BadDigest", False)
        with self.hub._lock:
            self.hub._blobs[seg[1]] = body
        self._send(200, {"ETag": f'"{seg[1]}"'}, b"", False)

    def _commit(self, repo_id: str, revision: str, body: bytes) -> None:
        if self._query.get("create_pr"):
            return self._error(400, None, "Pull requests are not served here", False)
        try:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        except json.JSONDecodeError:
            return self._error(400, None, "Invalid NDJSON", False)
        if not lines or lines[0].get("key") != "header":
            return self._error(400, None, "The first line must be the header", False)
        header = lines[0].get("value") or {}
        with self.hub._lock:
            repo = self.hub.repos[repo_id]
            if _COMMIT_RE.match(revision) or revision not in repo.refs:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision} (not a branch)", False)
            head = repo.refs[revision]
            if header.get("parentCommit") and header["parentCommit"] != head:
                return self._error(412, None, "A commit has happened since. Please refresh and try again.", False)
            tree = repo.commits[head].files
            files: dict[str, bytes | None] = {}
            for line in lines[1:]:
                key, value = line.get("key"), line.get("value") or {}
                path = value.get("path")
                if key == "file":
                    files[path] = base64.b64decode(value.get("content", ""))
                elif key == "lfsFile":
                    data = self.hub._blobs.get(value.get("oid"))
                    if data is None:
                        return self._error(422, None, f"LFS object {value.get('oid')} was never uploaded", False)
                    files[path] = data
                elif key == "deletedFile":
                    files[path] = None
                elif key == "deletedFolder":
                    prefix = path.rstrip("/") + "/"
                    files.update({p: None for p in tree if p.startswith(prefix)})
                else:
                    return self._error(400, None, f"Unknown operation {key!r}", False)
            sha = self.hub.commit(repo_id, files, branch=revision, message=header.get("summary"))
        self._json({"success": True, "commitOid": sha, "commitUrl": f"{self.hub.url}/{repo_id}/commit/{sha}",
                    "hookOutput": "", "pullRequestUrl": None}, False)


# -------------------------------------------------------------------- helpers for tests


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def model_files(seed: int = 0, *, readme: bool = True) -> dict[str, bytes]:
    """A small model folder's files: config.json, model.safetensors (real safetensors bytes) and README.md."""
    import numpy as np
    from safetensors.numpy import save

    rng = np.random.default_rng(seed)
    files = {
        "config.json": json.dumps({"seed": seed, "arch": "test"}, indent=2).encode(),
        "model.safetensors": save({"weight": rng.standard_normal((4, 8)).astype(np.float32)},
                                  metadata={"seed": str(seed)}),
    }
    if readme:
        files["README.md"] = f"# test model {seed}\n".encode()
    return files


@pytest.fixture
def hub_server():
    """A running `HubServer` (stopped afterwards)."""
    server = HubServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hub(hub_server, monkeypatch, tmp_path):
    """`hub_server`, with HF_ENDPOINT pointing at it and HF_HOME / HF_HUB_CACHE in a tmp dir."""
    home = tmp_path / "hf_home"
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "2")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    try:  # huggingface_hub reads HF_HUB_OFFLINE at import: make sure a stale value cannot block requests
        from huggingface_hub import constants

        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    except ImportError:
        pass
    yield hub_server
