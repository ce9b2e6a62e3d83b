"""vocal_remover.hub against a real HTTP server speaking the Hub protocol (tests/hub_server.py)
and the real huggingface_hub client: no mocks of the client, no network beyond 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vocal_remover.atomic import sha256_file
from vocal_remover.errors import ModelError
from vocal_remover.hub import RegistryEntry, download_model, list_models, load_registry, resolve_model
from vocal_remover.hub import registry as registry_mod
from vocal_remover.hub.environment import hub_cache_dir

try:
    from hub_server import HubServer, closed_port_url, hub, hub_server, model_files  # noqa: F401 - fixtures
except ImportError:  # tests/ imported as a package
    from tests.hub_server import HubServer, closed_port_url, hub, hub_server, model_files  # noqa: F401

REPO = "org/model"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_folder_has(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        assert (folder / name).read_bytes() == data, name


def write_registry(tmp_path, monkeypatch, models: dict) -> Path:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"format": 1, "models": models}))
    monkeypatch.setenv("VOCAL_REMOVER_REGISTRY", str(path))
    return path


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# ------------------------------------------------------------------------------- Hub ids


def test_download_then_offline_uses_cache_without_requests(hub, monkeypatch):
    files = model_files(0)
    hub.commit(REPO, files)
    messages: list[str] = []

    folder = resolve_model(REPO, progress=messages.append)

    assert_folder_has(folder, files)
    assert folder.is_relative_to(Path(os.environ["HF_HUB_CACHE"]).resolve())
    assert any("model.safetensors" in m for m in messages)
    # The weights went through the LFS redirect to the "CDN"; README.md and config.json came directly.
    assert hub.count("/lfs/", method="GET", server="cdn") == 1
    assert hub.count("/resolve/", method="GET", server="hub") == 2

    hub.reset_requests()
    assert resolve_model(REPO) == folder  # online, up to date: one HEAD to learn where main points
    assert [(r.method, r.path) for r in hub.requests] == [("HEAD", "/org/model/resolve/main/config.json")]

    hub.reset_requests()
    assert resolve_model(REPO, offline=True) == folder
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model(REPO) == folder
    assert hub.count() == 0


def test_cache_location_follows_env_and_cache_dir(hub, monkeypatch, tmp_path):
    hub.commit(REPO, model_files(0))
    monkeypatch.delenv("HF_HUB_CACHE")
    folder = resolve_model(REPO)  # HF_HOME/hub, read at call time
    assert folder.is_relative_to((Path(os.environ["HF_HOME"]) / "hub").resolve())
    own = resolve_model(REPO, cache_dir=tmp_path / "own")
    assert own.is_relative_to((tmp_path / "own").resolve())
    assert resolve_model(REPO, cache_dir=tmp_path / "own", offline=True) == own


def test_branch_moves_commit_stays(hub):
    old, new = model_files(1), model_files(2)
    c1 = hub.commit(REPO, old)
    hub.set_ref(REPO, "v1", c1)  # a tag

    first = resolve_model(REPO)
    assert_folder_has(first, old)
    assert first.name == c1

    c2 = hub.commit(REPO, new)  # main moves on
    latest = resolve_model(REPO)
    assert latest.name == c2
    assert_folder_has(latest, new)

    hub.reset_requests()
    pinned = resolve_model(f"{REPO}@{c1}")  # immutable and cached: no request at all
    assert pinned == first
    assert_folder_has(pinned, old)
    assert hub.count() == 0

    assert_folder_has(resolve_model(f"{REPO}@v1"), old)
    assert resolve_model(REPO, offline=True) == latest  # offline: last known state of main


def test_pinned_commit_fresh_cache_gets_old_content(hub):
    c1 = hub.commit(REPO, model_files(1))
    hub.commit(REPO, model_files(2))
    folder = resolve_model(f"{REPO}@{c1}")
    assert folder.name == c1
    assert_folder_has(folder, model_files(1))
    assert_folder_has(resolve_model(REPO), model_files(2))


def test_branch_with_slash_is_url_encoded(hub):
    files = model_files(3)
    hub.commit(REPO, model_files(0))
    hub.commit(REPO, files, branch="refs/pr/1")
    folder = resolve_model(f"{REPO}@refs/pr/1")
    assert_folder_has(folder, files)
    assert hub.count("/resolve/refs/pr/1/config.json") >= 1
    assert resolve_model(f"{REPO}@refs/pr/1", offline=True) == folder


def test_readme_is_optional(hub):
    files = model_files(4, readme=False)
    hub.commit(REPO, files)
    folder = resolve_model(REPO)
    assert_folder_has(folder, files)
    assert not (folder / "README.md").exists()
    hub.reset_requests()
    assert resolve_model(f"{REPO}@{folder.name}") == folder  # absence of README.md is cached too
    assert hub.count() == 0


def test_unknown_repo(hub):
    with pytest.raises(ModelError) as err:
        resolve_model("org/nope")
    assert "org/nope not found" in one_line(err)


def test_unknown_revision(hub):
    hub.commit(REPO, model_files(0))
    with pytest.raises(ModelError) as err:
        resolve_model(f"{REPO}@nope")
    assert "revision 'nope' not found" in one_line(err)
    with pytest.raises(ModelError, match="revision '0{40}' not found"):
        resolve_model(f"{REPO}@{'0' * 40}")


def test_missing_file(hub):
    hub.commit(REPO, {"config.json": b"{}"})
    with pytest.raises(ModelError) as err:
        resolve_model(REPO)
    assert "model.safetensors is missing" in one_line(err)


def test_offline_nothing_cached(hub, monkeypatch):
    hub.commit(REPO, model_files(0))
    with pytest.raises(ModelError) as err:
        resolve_model(REPO, offline=True)
    assert "not in the local cache; run `vocal-remover models download org/model` while online" in one_line(err)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="not in the local cache"):
        resolve_model(f"{REPO}@{'a' * 40}")
    with pytest.raises(ModelError, match="cannot download while offline"):
        download_model(REPO)
    assert hub.count() == 0


def test_server_down_is_a_quick_model_error(hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    start = time.monotonic()
    with pytest.raises(ModelError) as err:
        resolve_model(REPO)
    assert time.monotonic() - start < 5
    assert "cannot reach http://127.0.0.1:" in one_line(err)
    assert "not in the local cache" in str(err.value)


def test_server_down_falls_back_to_cache(hub, monkeypatch):
    hub.commit(REPO, model_files(0))
    folder = resolve_model(REPO)
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    messages: list[str] = []
    start = time.monotonic()
    assert resolve_model(REPO, progress=messages.append) == folder
    assert time.monotonic() - start < 5
    assert any("cached copy" in m for m in messages)


def test_server_error_status(hub):
    hub.commit(REPO, model_files(0))
    hub.force_status = 503
    start = time.monotonic()
    with pytest.raises(ModelError) as err:
        resolve_model(REPO)
    assert time.monotonic() - start < 5
    assert "HTTP 503" in one_line(err)
    hub.force_status = None
    folder = resolve_model(REPO)
    hub.force_status = 503
    assert resolve_model(REPO) == folder  # cached copy


def test_endpoint_that_is_not_a_hub(hub, monkeypatch):
    hub.commit(REPO, model_files(0))
    monkeypatch.setenv("HF_ENDPOINT", hub.cdn_url)  # answers 404 without X-Error-Code
    with pytest.raises(ModelError) as err:
        resolve_model(REPO)
    assert one_line(err) == (f"model 'org/model': org/model@main not found at {hub.cdn_url} (HTTP 404); "
                             "check the id and HF_ENDPOINT")


def test_download_model(hub):
    files = model_files(5)
    hub.commit(REPO, files)
    folder = download_model(REPO)
    assert_folder_has(folder, files)


# ------------------------------------------------------------------------------- registry


def test_registry_entry_pinned_with_sha256(hub, tmp_path, monkeypatch):
    files = model_files(6)
    c1 = hub.commit(REPO, files)
    hub.commit(REPO, model_files(7))  # main moved on; the entry stays pinned
    write_registry(tmp_path, monkeypatch, {"small": {
        "description": "A small one", "repo_id": REPO, "revision": c1,
        "sha256": sha256(files["model.safetensors"]).upper(),
    }})
    entry = load_registry()["small"]
    assert entry == RegistryEntry("small", "A small one", REPO, c1, sha256(files["model.safetensors"]), None)

    listed = {m["name"]: m for m in list_models()}
    assert listed["small"] == {"name": "small", "description": "A small one",
                               "source": f"hub {REPO}@{c1[:12]}", "available": False}

    folder = resolve_model("small")
    assert folder.name == c1
    assert_folder_has(folder, files)
    assert {m["name"]: m for m in list_models()}["small"]["available"] is True

    hub.reset_requests()
    assert resolve_model("small") == folder  # pinned + cached + verified: no request
    assert resolve_model("small", offline=True) == folder
    assert hub.count() == 0


def test_registry_entry_checksum_mismatch(hub, tmp_path, monkeypatch):
    files = model_files(8)
    c1 = hub.commit(REPO, files)
    write_registry(tmp_path, monkeypatch, {"bad": {"description": "", "repo_id": REPO, "revision": c1,
                                                   "sha256": "0" * 64}})
    with pytest.raises(ModelError) as err:
        resolve_model("bad")
    text = one_line(err)
    assert text.startswith("model 'bad': checksum mismatch for model.safetensors: expected " + "0" * 64)
    assert f"got {sha256(files['model.safetensors'])}" in text
    assert "the download is corrupt or the registry entry is wrong" in text

    # The bad file was thrown out of the cache: it cannot be picked up later, even offline.
    snapshot = hub_cache_dir(None) / "models--org--model" / "snapshots" / c1
    assert not (snapshot / "model.safetensors").exists()
    with pytest.raises(ModelError, match="not in the local cache"):
        resolve_model("bad", offline=True)


def test_default_without_packaged_model(tmp_path, monkeypatch):
    """A build without the packaged weights (e.g. a source checkout missing them) says so clearly."""
    monkeypatch.setattr(registry_mod, "PACKAGED_MODELS", tmp_path)
    assert not load_registry()["default"].packaged_present
    with pytest.raises(ModelError) as err:
        resolve_model("default")
    assert one_line(err) == (
        "model 'default': no trained model is packaged with this version yet; pass -m with a model folder "
        "or Hub id (see `vocal-remover models list`)")


def test_packaged_entry_absent_is_reported(tmp_path, monkeypatch):
    write_registry(tmp_path, monkeypatch, {"tiny": {"description": "x", "packaged": "not-shipped-here"}})
    with pytest.raises(ModelError, match="^model 'tiny': no trained model is packaged"):
        resolve_model("tiny")
    assert {m["name"]: m for m in list_models()}["tiny"] == {
        "name": "tiny", "description": "x", "source": "packaged", "available": False}


def test_packaged_entry_present(tmp_path, monkeypatch):
    files = model_files(9)
    folder = tmp_path / "pkg" / "tiny"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    monkeypatch.setattr(registry_mod, "PACKAGED_MODELS", tmp_path / "pkg")
    write_registry(tmp_path, monkeypatch, {"tiny": {"description": "x", "packaged": "tiny",
                                                    "sha256": sha256(files["model.safetensors"])}})
    assert resolve_model("tiny") == folder
    assert {m["name"]: m for m in list_models()}["tiny"]["available"] is True


def test_builtin_registry():
    registry = load_registry()
    assert registry["default"] == RegistryEntry("default", "Default model shipped inside the package",
                                                packaged="default")


@pytest.mark.parametrize("entry, message", [
    ({"description": "x"}, "needs 'repo_id'"),
    ({"repo_id": REPO, "revision": "main", "sha256": "0" * 64}, "full 40-character"),
    ({"repo_id": REPO, "revision": "a" * 40}, "needs 'sha256'"),
    ({"repo_id": REPO, "sha256": "0" * 64}, "needs 'revision'"),
    ({"repo_id": REPO, "revision": "a" * 40, "sha256": "xyz"}, "64 hexadecimal"),
    ({"repo_id": "no-slash", "revision": "a" * 40, "sha256": "0" * 64}, "org/name"),
    ({"packaged": "../evil"}, "plain folder name"),
    ({"packaged": "x", "sha": "typo"}, "unknown key 'sha'"),
    ("just a string", "must be an object"),
])
def test_registry_validation(tmp_path, monkeypatch, entry, message):
    write_registry(tmp_path, monkeypatch, {"m": entry})
    with pytest.raises(ModelError, match="^registry file .*: model 'm': ") as err:
        load_registry()
    assert message in one_line(err)


def test_registry_file_errors(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    monkeypatch.setenv("VOCAL_REMOVER_REGISTRY", str(path))
    with pytest.raises(ModelError, match="no such file"):
        load_registry()
    path.write_text("{oops")
    with pytest.raises(ModelError, match="invalid JSON at line 1"):
        load_registry()
    path.write_text('{"format": 2, "models": {}}')
    with pytest.raises(ModelError, match="unsupported format 2"):
        load_registry()
    write_registry(tmp_path, monkeypatch, {"a/b": {"packaged": "x"}})
    with pytest.raises(ModelError, match="no '/'"):
        load_registry()


# ------------------------------------------------------------------------------- local paths


def test_local_folder(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    for name, data in model_files(0).items():
        (folder / name).write_bytes(data)
    assert resolve_model(folder) == folder
    assert resolve_model(str(folder)) == folder
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelError) as err:
        resolve_model(folder)
    assert one_line(err) == (f"model folder '{folder}': missing model.safetensors; a model folder needs "
                             "config.json and model.safetensors")


def test_local_file_returned_unchanged(tmp_path):
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"onnx")
    assert resolve_model(onnx) == onnx


def test_unknown_specs(tmp_path):
    with pytest.raises(ModelError, match="no such file or folder"):
        resolve_model(str(tmp_path / "missing"))
    with pytest.raises(ModelError, match="no such file or folder"):
        resolve_model("./nope.onnx")
    with pytest.raises(ModelError) as err:
        resolve_model("not a model")
    assert "not an existing path, a registry name" in one_line(err)
    with pytest.raises(ModelError, match="not an existing path"):
        resolve_model("no-such-registry-name")
    with pytest.raises(ModelError, match="empty or padded revision"):
        resolve_model("org/name@")
    with pytest.raises(ModelError, match="no such file or folder"):
        resolve_model(Path("org/name"))  # a Path is never a Hub id
    with pytest.raises(ModelError, match="no model given"):
        resolve_model("")


def test_sha256_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc" * 1000)
    assert sha256_file(path) == sha256(b"abc" * 1000)


def test_import_is_light():
    code = ("import sys, vocal_remover.hub; "
            "bad = [m for m in ('torch', 'huggingface_hub', 'numpy') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def test_a_stopped_server_closes_its_kept_alive_connections():
    # huggingface_hub pools connections across tests; one still served by a stopped server's handler would answer
    # the next server that the OS puts on the same port (the likely cause of a reply without X-Repo-Commit in CI)
    import http.client
    import socket

    server = HubServer().start()
    server.commit(REPO, model_files(9))
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", f"/{REPO}/resolve/main/config.json")  # HTTP/1.1: the server keeps the connection open
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("X-Repo-Commit")
    response.read()
    server.stop()
    conn.sock.settimeout(10)
    try:
        assert conn.sock.recv(1) == b""  # closed by the server, not left waiting for the next request
    except (socket.timeout, ConnectionResetError) as exc:
        assert isinstance(exc, ConnectionResetError), "the connection outlived the server"
    finally:
        conn.close()
