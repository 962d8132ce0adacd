"""The eemeter (CalTRACK daily) side of ``bench/baseline.py``'s savings comparison.

Run by an interpreter that has ``eemeter`` (it is not a gridpilot dependency; e.g.
``python -m venv /tmp/eemeter-venv && /tmp/eemeter-venv/bin/pip install eemeter pytz``). Reads
JSON ``{"dates": [...], "temperature_c": [...], "observed_kwh": [...], "split": k}`` on stdin (the
first ``k`` days are the baseline), fits eemeter's ``DailyModel`` on the baseline and predicts
the reporting days; prints JSON: the savings [kWh] = sum(predicted) - sum(observed) over the
reporting days, and the model's own uncertainty (root sum of squares of ``predicted_unc``).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd


def main() -> int:
    import eemeter

    data = json.load(sys.stdin)
    index = pd.DatetimeIndex(pd.to_datetime(data["dates"])).tz_localize("UTC")
    frame = pd.DataFrame(
        {
            "temperature": np.asarray(data["temperature_c"]) * 9 / 5 + 32,  # CalTRACK uses degF
            "observed": np.asarray(data["observed_kwh"]),
        },
        index=index,
    )
    split = int(data["split"])
    started = time.perf_counter()
    baseline = eemeter.eemeter.DailyBaselineData(frame.iloc[:split], is_electricity_data=True)
    reporting = eemeter.eemeter.DailyReportingData(frame.iloc[split:], is_electricity_data=True)
    model = eemeter.eemeter.DailyModel().fit(baseline, ignore_disqualification=True)
    predicted = model.predict(reporting, ignore_disqualification=True)
    elapsed = time.perf_counter() - started
    used = predicted.dropna(subset=["observed", "predicted"])
    savings = float(used["predicted"].sum() - used["observed"].sum())
    unc = float(np.sqrt((used["predicted_unc"] ** 2).sum())) if "predicted_unc" in used else None
    out = {
        "eemeter_version": eemeter.__version__,
        "savings_kwh": savings,
        "predicted_kwh": float(used["predicted"].sum()),
        "days": len(used),
        "model_uncertainty_kwh": unc,
        "cv_rmse": model.error.get("CVRMSE"),
        "fit_and_predict_s": round(elapsed, 3),
    }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
