"""Answers written to be spoken: phrases per language, numbers and units as words.

``say(key, lang, **values)`` fills a phrase of ``PHRASES``; ``amount(value, unit, lang)``
writes a quantity the way a text-to-speech engine reads it well ("45.3 kilowatt-hours",
"45,3 chilowattora"): at most three significant figures and no more than one decimal over 10,
the unit spelled out, singular for exactly one. Money is a ``Decimal`` rounded half-up to the
cent ("12.35 euros"). Pure functions.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: Unit -> (singular, plural) per language.
UNITS: dict[str, dict[str, tuple[str, str]]] = {
    "kWh": {"en": ("kilowatt-hour", "kilowatt-hours"), "it": ("chilowattora", "chilowattora")},
    "kW": {"en": ("kilowatt", "kilowatts"), "it": ("chilowatt", "chilowatt")},
    "kg": {"en": ("kilogram of CO2", "kilograms of CO2"),
           "it": ("chilogrammo di CO2", "chilogrammi di CO2")},
    "EUR": {"en": ("euro", "euros"), "it": ("euro", "euro")},
    "USD": {"en": ("dollar", "dollars"), "it": ("dollaro", "dollari")},
    "GBP": {"en": ("pound", "pounds"), "it": ("sterlina", "sterline")},
    "CHF": {"en": ("Swiss franc", "Swiss francs"), "it": ("franco svizzero", "franchi svizzeri")},
    "kWh/degC": {"en": ("kilowatt-hour per degree", "kilowatt-hours per degree"),
                 "it": ("chilowattora per grado", "chilowattora per grado")},
}  # fmt: skip

#: Periods as said after a verb ("consumed 45 kilowatt-hours <in the last hour>").
PERIODS: dict[str, dict[str, str]] = {
    "last_hour": {"en": "in the last hour", "it": "nell'ultima ora"},
    "last_24_hours": {"en": "in the last 24 hours", "it": "nelle ultime 24 ore"},
    "today": {"en": "today", "it": "oggi"},
    "yesterday": {"en": "yesterday", "it": "ieri"},
    "this_week": {"en": "this week", "it": "questa settimana"},
    "last_week": {"en": "last week", "it": "la settimana scorsa"},
    "this_month": {"en": "this month", "it": "questo mese"},
    "last_month": {"en": "last month", "it": "il mese scorso"},
}

PHRASES: dict[str, dict[str, str]] = {
    "no_match": {"en": "Sorry, I can't help with that.",
                 "it": "Mi dispiace, non posso aiutarti con questo."},
    "unknown_target": {"en": "I don't know anything called {name}.",
                       "it": "Non conosco nulla che si chiami {name}."},
    "ambiguous": {"en": "Which one do you mean: {options}?",
                  "it": "Quale intendi: {options}?"},
    "which_site": {"en": "Which site do you mean: {options}?",
                   "it": "Quale sito intendi: {options}?"},
    "no_sites": {"en": "You have no sites I can report on.",
                 "it": "Non hai siti su cui posso riferire."},
    "energy": {"en": "{name} consumed {amount} {period}.",
               "it": "{name} ha consumato {amount} {period}."},
    "energy_none": {"en": "I have no energy data for {name} {period}.",
                    "it": "Non ho dati di energia per {name} {period}."},
    "power": {"en": "{name} is drawing {amount} right now.",
              "it": "{name} sta assorbendo {amount} in questo momento."},
    "power_none": {"en": "I have no recent power reading for {name}.",
                   "it": "Non ho letture di potenza recenti per {name}."},
    "above": {"en": "{count} above {limit}: {items}.",
              "it": "{count} sopra {limit}: {items}."},
    "above_none": {"en": "No machine is drawing more than {limit} right now.",
                   "it": "Nessuna macchina sta assorbendo più di {limit} in questo momento."},
    "top": {"en": "The top consumers {period} were {items}.",
            "it": "I maggiori consumatori {period} sono stati {items}."},
    "top_none": {"en": "I have no consumption data {period}.",
                 "it": "Non ho dati di consumo {period}."},
    "peak": {"en": "The peak demand of {name} {period} was {amount}, on {when}.",
             "it": "Il picco di potenza di {name} {period} è stato di {amount}, il {when}."},
    "peak_none": {"en": "I have no demand data for {name} {period}.",
                  "it": "Non ho dati di potenza per {name} {period}."},
    "cost": {"en": "The energy cost of {name} {period} was {amount}.",
             "it": "Il costo dell'energia di {name} {period} è stato di {amount}."},
    "cost_none": {"en": "I can't price the energy of {name} {period}: {reason}.",
                  "it": "Non posso calcolare il costo dell'energia di {name} {period}: {reason}."},
    "co2": {"en": "{name} emitted {amount} {period}.",
            "it": "{name} ha emesso {amount} {period}."},
    "co2_none": {"en": "I have no energy data to estimate the emissions of {name} {period}.",
                 "it": "Non ho dati di energia per stimare le emissioni di {name} {period}."},
    "alerts": {"en": "There are {count} active alerts: {items}.",
               "it": "Ci sono {count} allarmi attivi: {items}."},
    "alerts_one": {"en": "There is one active alert: {items}.",
                   "it": "C'è un allarme attivo: {items}."},
    "alerts_none": {"en": "There are no active alerts.", "it": "Non ci sono allarmi attivi."},
    "forecast": {"en": "The forecast peak for {name} tomorrow is {amount}, at {when}.",
                 "it": "Il picco previsto per {name} domani è di {amount}, alle {when}."},
    "forecast_none": {"en": "I can't forecast {name} for tomorrow: {reason}.",
                      "it": "Non posso fare la previsione per {name} domani: {reason}."},
    "dr_active": {"en": "A demand response event is active at {name} until {when}, "
                        "with a target reduction of {amount}.",
                  "it": "È in corso un evento di demand response a {name} fino alle {when}, "
                        "con una riduzione obiettivo di {amount}."},
    "dr_next": {"en": "The next demand response event at {name} starts {when}, "
                      "with a target reduction of {amount}.",
                "it": "Il prossimo evento di demand response a {name} inizia {when}, "
                      "con una riduzione obiettivo di {amount}."},
    "dr_none": {"en": "No demand response event is active or scheduled.",
                "it": "Nessun evento di demand response è in corso o programmato."},
    "correlation": {"en": "Over the last {days} days, each degree warmer changed the daily "
                          "energy of {name} by {amount}; the temperature explains {share} "
                          "percent of its variation.",
                    "it": "Negli ultimi {days} giorni, ogni grado in più ha cambiato l'energia "
                          "giornaliera di {name} di {amount}; la temperatura spiega il {share} "
                          "percento della sua variazione."},
    "correlation_no_driver": {"en": "There is no outdoor temperature measured at {name}'s "
                                    "site, so I can't tell its effect.",
                              "it": "Al sito di {name} non è misurata la temperatura esterna, "
                                    "quindi non posso dirne l'effetto."},
    "correlation_unknown": {"en": "I can only relate energy to the outdoor temperature.",
                            "it": "Posso mettere in relazione l'energia solo con la temperatura "
                                  "esterna."},
    "correlation_none": {"en": "I don't have enough data to relate {name} to the temperature: "
                               "{reason}.",
                         "it": "Non ho abbastanza dati per mettere in relazione {name} con la "
                               "temperatura: {reason}."},
    "and": {"en": " and ", "it": " e "},
}  # fmt: skip


def say(key: str, lang: str, **values: object) -> str:
    """The phrase ``key`` in ``lang`` (English when missing) with ``values`` filled in."""
    phrase = PHRASES[key].get(lang) or PHRASES[key]["en"]
    return phrase.format(**values)


def period(key: str, lang: str) -> str:
    """A period key said after a verb; "in the last 3 hours", "negli ultimi 5 giorni"."""
    if key in PERIODS:
        return PERIODS[key][lang]
    n = key.split("_")[1]
    if key.endswith("hours"):
        return f"in the last {n} hours" if lang == "en" else f"nelle ultime {n} ore"
    return f"in the last {n} days" if lang == "en" else f"negli ultimi {n} giorni"


def number(value: float, lang: str) -> str:
    """``value`` with at most three significant figures (integers over 100), as spoken."""
    size = abs(value)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 0.01 else 3
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(".", ",") if lang == "it" else text


def money(value: float | Decimal, lang: str) -> Decimal:
    """A cost rounded half-up to the cent [currency]."""
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def amount(value: float | Decimal, unit: str, lang: str) -> str:
    """``value`` and its unit spelled out ("45.3 kilowatt-hours", "12,35 euro")."""
    if isinstance(value, Decimal):
        text = f"{value:.2f}".replace(".", ",") if lang == "it" else f"{value:.2f}"
    else:
        text = number(value, lang)
    singular, plural = UNITS.get(unit, {}).get(lang, (unit, unit))
    return f"{text} {singular if text in ('1', '1.00', '1,00') else plural}"


def listing(items: list[str], lang: str) -> str:
    """ "a, b and c" / "a, b e c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + PHRASES["and"][lang] + items[-1]
