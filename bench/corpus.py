"""Realistic resource documents for the benchmarks, generated from a seed.

Agents hold multi-paragraph instructions, a model with options, two or three skills and
sometimes an inline MCP server; skills hold a page of markdown; workflows have inputs,
four to six tasks (set, agent, http, wait) with dependencies, retries and outputs, and
call the generated agents. Every document is valid for `stigmer apply`.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "agentic.stigmer.ai/v1"

_WORDS = [
    "order",
    "refund",
    "invoice",
    "customer",
    "ticket",
    "release",
    "note",
    "summary",
    "policy",
    "account",
    "billing",
    "shipment",
    "delivery",
    "report",
    "weekly",
    "daily",
    "incident",
    "review",
    "contract",
    "renewal",
    "onboarding",
    "support",
    "escalation",
    "priority",
    "region",
    "product",
    "catalog",
    "inventory",
    "payment",
    "subscription",
    "feedback",
    "survey",
    "digest",
    "alert",
    "deploy",
    "change",
    "audit",
    "compliance",
    "security",
    "vendor",
    "partner",
    "lead",
    "campaign",
    "forecast",
    "budget",
]
_TEAMS = ("eng", "cs", "sales", "ops", "finance", "legal", "marketing", "data")
_MODELS = ("anthropic/claude-sonnet-4-5", "openai/gpt-4.1-mini", "local/smollm2", "scripted")


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng, rng.randint(6, 14)) for _ in range(sentences))


def _labels(rng: random.Random, i: int) -> dict[str, str]:
    return {"team": _TEAMS[i % len(_TEAMS)], "tier": rng.choice(("gold", "silver", "bronze"))}


def skill_doc(rng: random.Random, i: int) -> dict[str, Any]:
    """A Skill: a page of markdown."""
    bullets = "\n".join(f"- {_sentence(rng, rng.randint(8, 16))}" for _ in range(rng.randint(5, 9)))
    return {
        "apiVersion": API_VERSION,
        "kind": "Skill",
        "metadata": {"name": skill_name(i), "labels": _labels(rng, i)},
        "spec": {
            "description": _sentence(rng, 8),
            "content": f"# {skill_name(i)}\n\n{_paragraph(rng, 3)}\n\n{bullets}\n\n{_paragraph(rng, 2)}\n",
        },
    }


def agent_doc(rng: random.Random, i: int, skills: int) -> dict[str, Any]:
    """An Agent with instructions, model options, skills and sometimes an inline MCP server."""
    spec: dict[str, Any] = {
        "description": _sentence(rng, 10),
        "instructions": "\n\n".join(_paragraph(rng, rng.randint(3, 5)) for _ in range(3)) + "\n",
        "model": rng.choice(_MODELS),
        "config": {"temperature": rng.choice(("0.0", "0.2", "0.7")), "max_tokens": "2048"},
    }
    if skills:
        spec["skills"] = [skill_name(rng.randrange(skills)) for _ in range(rng.randint(2, 3))]
        spec["skills"] = sorted(set(spec["skills"]))
    if i % 3 == 0:
        spec["mcpServers"] = [
            {
                "name": f"tools-{i}",
                "stdio": {"command": "python", "args": ["-m", f"tools.server_{i}", "--verbose"]},
                "enabledTools": ["find_order", "create_ticket", "refund_order"],
                "approvalRequired": ["refund_order"],
            }
        ]
    return {
        "apiVersion": API_VERSION,
        "kind": "Agent",
        "metadata": {
            "name": agent_name(i),
            "labels": _labels(rng, i),
            "annotations": {"stigmer.ai/owner": f"user{i % 17}@example.com"},
        },
        "spec": spec,
    }


def workflow_doc(rng: random.Random, i: int, agents: int) -> dict[str, Any]:
    """A Workflow of four to six tasks calling generated agents."""
    tasks: list[dict[str, Any]] = [
        {"name": "gather", "set": {"summary": "Changes for ${workflow.inputs.week}", "count": 3}},
        {
            "name": "fetch",
            "dependsOn": ["gather"],
            "http": {"method": "GET", "url": f"https://api.example.com/v1/items/{i}", "headers": {"x": "1"}},
            "retry": {"maxAttempts": 3, "backoff": {"initial": "1s", "max": "30s", "multiplier": 2}},
            "onError": "continue",
        },
    ]
    previous = "fetch"
    for step in range(rng.randint(2, 4)):
        name = f"step-{step}"
        tasks.append(
            {
                "name": name,
                "dependsOn": [previous],
                "agent": agent_name(rng.randrange(agents)) if agents else "missing-agent",
                "message": f"{_sentence(rng, 10)} ${{tasks.{previous}.outputs}}",
                "outputs": ["title", "body"],
                "retry": {"maxAttempts": 2},
                "timeout": "300s",
            }
        )
        previous = name
    tasks.append({"name": "pause", "dependsOn": [previous], "wait": {"duration": "5s"}})
    return {
        "apiVersion": API_VERSION,
        "kind": "Workflow",
        "metadata": {"name": workflow_name(i), "labels": _labels(rng, i)},
        "spec": {
            "description": _sentence(rng, 12),
            "inputs": {
                "week": "string",
                "audience": {"type": "string", "required": False, "default": "customers"},
                "limit": {"type": "integer", "description": "How many items to read.", "default": 50},
            },
            "tasks": tasks,
            "outputs": {"title": f"${{tasks.{previous}.outputs.title}}", "notes": "${tasks.fetch.outputs}"},
        },
    }


def agent_name(i: int) -> str:
    return f"agent-{i:06d}"


def skill_name(i: int) -> str:
    return f"skill-{i:06d}"


def workflow_name(i: int) -> str:
    return f"workflow-{i:06d}"


def documents(*, agents: int, skills: int, workflows: int, seed: int = 42) -> list[dict[str, Any]]:
    """The documents, in file order: agents, skills, workflows."""
    rng = random.Random(seed)
    docs = [agent_doc(rng, i, skills) for i in range(agents)]
    docs += [skill_doc(rng, i) for i in range(skills)]
    docs += [workflow_doc(rng, i, agents) for i in range(workflows)]
    return docs


def write_tree(root: Path, docs: list[dict[str, Any]]) -> int:
    """One YAML file per document under root/<plural>/; the number of files written."""
    for doc in docs:
        folder = root / f"{str(doc['kind']).lower()}s"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{doc['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return len(docs)


__all__ = ["agent_doc", "agent_name", "documents", "skill_doc", "skill_name", "workflow_doc", "write_tree"]
