"""Shared harness for the SDK tests: starts the mock upstream and the real
gateway binary, provisions an identity and key through the real CLI, and
hands the official SDK clients their base URL and key."""

import json
import os
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
GATEWAY = TARGET / "modelgate"
MOCK = TARGET / "modelgate-mock"
UPSTREAM_CANARY = "sk-upstream-CANARY-sdk-51e0"
TEST_KEK = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # test only


class Process:
    """A child process whose first stdout line is `listening on URL`."""

    def __init__(self, args, env=None):
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
        )
        self.logs = []
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"{args[0]} did not start: {line!r} {''.join(self.logs)}")
        self.url = line.removeprefix("listening on ")
        threading.Thread(target=self._drain, args=(self.proc.stdout, False), daemon=True).start()

    def _drain(self, stream, keep=True):
        for line in stream:
            if keep:
                self.logs.append(line)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def mock():
    for binary in (GATEWAY, MOCK):
        if not binary.exists():
            pytest.fail(f"{binary} is missing: run `cargo build --workspace` first")
    process = Process([str(MOCK), "--listen", "127.0.0.1:0"])
    yield process
    process.stop()


def cli(config, *args):
    env = dict(os.environ, MG_TEST_UPSTREAM_KEY=UPSTREAM_CANARY, MG_TEST_KEK=TEST_KEK)
    out = subprocess.run(
        [str(GATEWAY), "--config", str(config), *args], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, f"{args}: {out.stderr}"
    return out.stdout


@pytest.fixture(scope="session")
def gateway(mock):
    workdir = tempfile.TemporaryDirectory(prefix="modelgate-sdk-")
    config = Path(workdir.name) / "modelgate.toml"
    config.write_text(
        f"""
[server]
listen = "127.0.0.1:0"
metrics_listen = "127.0.0.1:0"

[store]
path = "{Path(workdir.name) / 'modelgate.db'}"

[tokens]
kek = "env:MG_TEST_KEK"

[[upstreams]]
name = "local-openai"
kind = "openai"
base_url = "{mock.url}/v1"
credential = "env:MG_TEST_UPSTREAM_KEY"
deployment = "self_hosted"
region = "local"
isolation = "technical"

[[upstreams]]
name = "hosted-retaining"
kind = "openai"
base_url = "{mock.url}/v1"
credential = "env:MG_TEST_UPSTREAM_KEY"
deployment = "hosted"
region = "us"
retention_days = 30
isolation = "contractual"

[[upstreams]]
name = "local-anthropic"
kind = "anthropic"
base_url = "{mock.url}"
credential = "env:MG_TEST_UPSTREAM_KEY"
deployment = "self_hosted"
region = "local"
isolation = "technical"

[[models]]
name = "demo-chat"
targets = [
  {{ upstream = "local-openai", model = "demo-chat" }},
  {{ upstream = "local-anthropic", model = "demo-chat" }},
]

# Served only by an upstream of the other dialect: translation.
[[models]]
name = "via-openai"
targets = [{{ upstream = "local-openai", model = "demo-chat" }}]

[[models]]
name = "via-anthropic"
targets = [{{ upstream = "local-anthropic", model = "demo-chat" }}]

[[models]]
name = "demo-embed"
targets = [{{ upstream = "local-openai", model = "demo-embed" }}]

# The example policies deny a prod identity's data to a hosted upstream.
[[models]]
name = "hosted-chat"
targets = [{{ upstream = "hosted-retaining", model = "demo-chat" }}]

[policy]
dir = "{ROOT / 'examples' / 'policies'}"

[[models]]
name = "staging-only"
targets = [{{ upstream = "local-openai", model = "x" }}]
environments = ["staging"]
"""
    )
    cli(config, "identity", "create", "--name", "sdk-app", "--kind", "service",
        "--owner", "platform@example.com", "--environment", "prod")
    issued = json.loads(cli(config, "key", "create", "--identity", "sdk-app",
                            "--expires-in", "1h", "--format", "json"))
    env = dict(os.environ, MG_TEST_UPSTREAM_KEY=UPSTREAM_CANARY, MG_TEST_KEK=TEST_KEK)
    process = Process([str(GATEWAY), "--config", str(config), "serve"], env=env)
    process.key = issued["key"]
    yield process
    process.stop()
    workdir.cleanup()


@pytest.fixture
def openai_client(gateway):
    import openai

    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=gateway.key, max_retries=0)


@pytest.fixture
def anthropic_client(gateway):
    import anthropic

    return anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, max_retries=0)
