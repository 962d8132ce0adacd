"""How a settings form words a refusal: field names written as the labels the form shows."""

from __future__ import annotations

from gridpilot.web.forms import labelled, short_label

LABELS = {
    "soc_min_pct": "Lowest state of charge allowed [%]",
    "soc_max_pct": "Highest state of charge allowed [%]",
    "window_end": "Window ends (HH:MM, site time; 24:00: midnight)",
    "name": "Name (unique on the site)",
    "kind": "Kind",
}


def test_field_names_read_as_their_labels():
    said = labelled("soc_min_pct must not exceed soc_max_pct", LABELS)
    assert said == (
        "Lowest state of charge allowed [%] must not exceed highest state of charge allowed [%]"
    )


def test_a_label_loses_its_hint_in_parentheses_but_keeps_its_unit():
    assert short_label(LABELS["window_end"]) == "Window ends"
    assert short_label("Usable capacity [kWh]") == "Usable capacity [kWh]"
    assert labelled("window_end must lie after the start", LABELS).startswith("Window ends must")


def test_plain_words_and_longer_identifiers_stay_as_they_are():
    text = "a resource named BESS exists; kind and name are fixed; soc_min_pct_x is unknown"
    assert labelled(text, LABELS) == text


def test_an_abbreviation_keeps_its_capitals_mid_sentence():
    said = labelled("power_min_kw must not exceed power_max_kw", {
        "power_min_kw": "EV power at least [kW]", "power_max_kw": "EV power at most [kW]",
    })  # fmt: skip
    assert said == "EV power at least [kW] must not exceed EV power at most [kW]"
