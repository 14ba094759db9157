"""Redaction and references: secrets are masked in text, JSON, nested data and streams."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stigmer.secrets.redaction import MASK, Redactor
from stigmer.secrets.references import MissingReference, references, secret_names, substitute

TOKEN = "ghp_Abc123-s3cr3t"


def test_every_occurrence_is_masked() -> None:
    r = Redactor([TOKEN, "pw"])

    assert r.text(f"token={TOKEN}; again {TOKEN}.") == "token=****; again ****."
    assert r.text("a pw is too short to mask") == "a pw is too short to mask"


def test_secrets_inside_json_are_masked_even_when_escaped() -> None:
    quoted = 'say "hi" \\ bye ü'
    r = Redactor([TOKEN, quoted])
    document = json.dumps({"auth": f"Bearer {TOKEN}", "note": quoted})
    ascii_document = json.dumps({"note": quoted}, ensure_ascii=True)

    assert TOKEN not in r.text(document)
    assert json.loads(r.text(document)) == {"auth": f"Bearer {MASK}", "note": MASK}
    assert json.loads(r.text(ascii_document)) == {"note": MASK}


def test_nested_data_is_masked_keys_and_values() -> None:
    r = Redactor([TOKEN])
    data: dict[str, Any] = {"args": [TOKEN, {"h": f"x{TOKEN}y", TOKEN: 1}], "n": 3, "ok": True}

    assert r.value(data) == {"args": [MASK, {"h": f"x{MASK}y", MASK: 1}], "n": 3, "ok": True}
    assert data["args"][0] == TOKEN  # a copy, the input is untouched


def test_the_longer_of_two_overlapping_secrets_wins() -> None:
    r = Redactor(["abcd", "abcdefgh"])

    assert r.text("xabcdefghx abcdx") == "x****x ****x"


@pytest.mark.parametrize("secrets", [[TOKEN], [TOKEN, "Abc1", "23-s3"]], ids=["one", "overlapping"])
def test_a_secret_split_across_stream_pieces_is_masked_at_every_split(secrets: list[str]) -> None:
    r = Redactor(secrets)
    text = f"The token is {TOKEN}, and {TOKEN}{TOKEN} twice; Abc1 alone."
    expected = r.text(text)
    for size in range(1, len(text) + 1):
        for first in range(size):
            stream = r.stream()
            pieces = [text[:first]] + [text[i : i + size] for i in range(first, len(text), size)]
            shown = "".join(stream.feed(p) for p in pieces) + stream.flush()
            assert shown == expected, (size, first)
            assert TOKEN not in shown


def test_a_stream_holds_back_only_what_might_be_a_secret() -> None:
    stream = Redactor([TOKEN]).stream()

    assert stream.feed("Hello, world! ") == "Hello, world! "
    assert stream.feed("Say gh") == "Say "
    assert stream.feed("!") == "gh!"
    assert stream.feed(" ghp_") == " "
    assert stream.feed("Abc123-s3cr3t done") == "**** done"
    assert stream.flush() == ""


def test_without_secrets_a_redactor_changes_nothing() -> None:
    r = Redactor()
    stream = r.stream()

    assert not r
    assert r.value({"a": "b"}) == {"a": "b"}
    assert stream.feed("abc") == "abc"


def test_references_are_listed_and_substituted_in_nested_data() -> None:
    options = {
        "apiKey": "${secrets.API_KEY}",
        "baseUrl": "https://${ env.HOST }/v1",
        "n": 1,
        "x": ["${env.HOST}"],
    }

    assert [str(r) for r in references(options)] == ["${secrets.API_KEY}", "${env.HOST}", "${env.HOST}"]
    assert [r.where for r in references(options, "model.options")][:2] == [
        "model.options.apiKey",
        "model.options.baseUrl",
    ]
    assert secret_names(options) == {"API_KEY"}
    resolved = substitute(options, variables={"HOST": "h.example"}, secrets={"API_KEY": "sk-1"})
    assert resolved == {"apiKey": "sk-1", "baseUrl": "https://h.example/v1", "n": 1, "x": ["h.example"]}


def test_other_expressions_are_left_alone() -> None:
    value = "${tasks.fetch.outputs.body} and ${workflow.inputs.week}"

    assert substitute(value, variables={}, secrets={}) == value


def test_a_missing_secret_is_named_with_its_field_and_environment() -> None:
    with pytest.raises(MissingReference) as err:
        substitute(
            {"env": {"T": "${secrets.TOKEN}"}}, variables={}, secrets={}, where="mcp", environment="prod"
        )

    assert (
        str(err.value)
        == "environment 'prod' has no secret 'TOKEN', referenced as ${secrets.TOKEN} (in mcp.env.T)"
    )
    assert err.value.hint == "stigmer env set prod --secret TOKEN"


def test_a_reference_without_an_environment_says_to_pass_one() -> None:
    with pytest.raises(MissingReference, match="needs an environment") as err:
        substitute("${env.REGION}", variables={}, secrets={})

    assert "--env" in err.value.hint
