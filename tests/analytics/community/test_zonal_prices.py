"""GME zonal prices CSV: decimal commas, DST days of 23 and 25 hours, bad rows by line."""

from __future__ import annotations

import pandas as pd
import pytest

from gridpilot.analytics.community.zonal_prices import ZonalPriceError, parse_zonal_prices

HEADER = "Data;Ora;PUN;NORD;CNOR;CSUD;SUD;CALA;SICI;SARD"


def day_rows(day: str, hours: int, nord: str = "100,00") -> list[str]:
    return [f"{day};{h};1,5;{nord};2;3;4;5;6;7" for h in range(1, hours + 1)]


def test_march_dst_day_has_23_hours_that_start_one_utc_hour_apart():
    table = parse_zonal_prices("\n".join([HEADER, *day_rows("20240331", 23)]))
    assert len(table) == 23
    # local midnight of 31 March 2024 is 23:00 UTC the day before; 02:00 local does not exist
    assert table.index[0] == pd.Timestamp("2024-03-30T23:00Z")
    assert table.index[2] == pd.Timestamp("2024-03-31T01:00Z")  # hour 3 = 03:00 CEST
    assert table.index[-1] == pd.Timestamp("2024-03-31T21:00Z")
    assert (table.index[1:] - table.index[:-1] == pd.Timedelta(hours=1)).all()


def test_october_dst_day_has_25_hours_and_the_repeated_hour_twice():
    rows = day_rows("2024-10-27", 25)
    rows[2] = "2024-10-27;3;1;88,10;2;3;4;5;6;7"  # 02:00 CEST
    rows[3] = "2024-10-27;4;1;77,20;2;3;4;5;6;7"  # 02:00 CET
    table = parse_zonal_prices("\n".join([HEADER, *rows]))
    assert len(table) == 25
    assert table.loc[pd.Timestamp("2024-10-27T00:00Z"), "NORD"] == 88.10
    assert table.loc[pd.Timestamp("2024-10-27T01:00Z"), "NORD"] == 77.20
    assert table.index[-1] == pd.Timestamp("2024-10-27T22:00Z")


def test_decimal_comma_thousands_and_zone_columns():
    text = "\n".join(
        [HEADER, "01/02/2025;1;1;1.234,56;2;3;4;5;6;7", "01/02/2025;2;1;99.5;2;3;4;5;6;7"]
    )
    table = parse_zonal_prices(text)
    assert list(table.columns) == ["PUN", "NORD", "CNOR", "CSUD", "SUD", "CALA", "SICI", "SARD"]
    assert table["NORD"].tolist() == [1234.56, 99.5]


def test_bad_rows_are_reported_with_their_line_numbers():
    text = "\n".join(
        [
            HEADER,
            "20250201;1;1;100,00;2;3;4;5;6;7",
            "20250201;25;1;100,00;2;3;4;5;6;7",  # line 3: a 24-hour day has no hour 25
            "20250231;1;1;100,00;2;3;4;5;6;7",  # line 4: no such date
            "20250201;2;1;cento;2;3;4;5;6;7",  # line 5: not a number
            "20250201;1;1;100,00;2;3;4;5;6;7",  # line 6: repeats line 2
            "20250201;3;1;100,00",  # line 7: too few fields
            "20240331;24;1;100,00;2;3;4;5;6;7",  # line 8: a 23-hour day has no hour 24
        ]
    )
    with pytest.raises(ZonalPriceError) as caught:
        parse_zonal_prices(text)
    assert [e["line"] for e in caught.value.details] == [3, 4, 5, 6, 7, 8]
    assert "line 3: hour 25 outside 1..24" in caught.value.message
    assert "repeats line 2" in caught.value.details[3]["reason"]


def test_a_header_without_date_or_hour_is_refused():
    with pytest.raises(ZonalPriceError, match="line 1"):
        parse_zonal_prices("Giorno;Prezzo\n20250201;100")
