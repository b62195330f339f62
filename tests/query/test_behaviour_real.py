"""Behavioural queries on real data: OTTO sessions (clicks -> carts -> orders) imported with the ``otto``
preset, and the UCI Online Shoppers sessions (``uci_shoppers`` preset). Golden counts from
../shared/docs/golden-figures.md; the funnel, cart abandonment, stickiness and trends are recomputed
independently with pandas."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

import cxlens
from cxlens.stats import ProportionStat, proportion_ci

OTTO = "clickstream/otto_sample/otto_train_sample.jsonl"
UCI = "clickstream/uci_online_shoppers_intention/online_shoppers_intention.csv"

pytestmark = pytest.mark.shared


@pytest.fixture
def otto(shared_data: Path) -> tuple[cxlens.Workspace, pd.DataFrame]:
    path = shared_data / OTTO
    ws = cxlens.Workspace()
    ws.import_file("events", path, preset="otto")
    rows = [(str(s["session"]), e["ts"], e["type"]) for line in path.read_text().splitlines()
            for s in [json.loads(line)] for e in s["events"]]
    yield ws, pd.DataFrame(rows, columns=["session", "ts", "type"])
    ws.close()


def test_otto_golden_counts(otto: tuple[cxlens.Workspace, pd.DataFrame]) -> None:
    ws, _ = otto
    # golden-figures.md: 20 sessions; 862 events = 800 clicks + 52 carts + 10 orders
    r = ws.query({"kind": "trends", "series": ["clicks", "carts", "orders", {"event": None, "math": "unique"}],
                  "interval": "month"})
    assert [s["aggregated"] for s in r["series"]] == [800, 52, 10, 20]
    assert r["dates"] == ["2022-07-01T00:00:00", "2022-08-01T00:00:00"]  # 1659304800025 ms = 2022-07-31 22:00Z


def pandas_funnel(df: pd.DataFrame, window_ms: int) -> list[int]:
    """Independent ordered funnel: for every click the first cart at or after it, then the first order at or
    after that cart (merge_asof forward, per session), both within the window of the click; a session's level
    is its best click."""
    df = df.sort_values("ts")
    clicks = df[df.type == "clicks"][["session", "ts"]].rename(columns={"ts": "t0"})
    carts = df[df.type == "carts"][["session", "ts"]].rename(columns={"ts": "t1"})
    orders = df[df.type == "orders"][["session", "ts"]].rename(columns={"ts": "t2"})
    a = pd.merge_asof(clicks.sort_values("t0"), carts.sort_values("t1"), left_on="t0", right_on="t1",
                      by="session", direction="forward")
    a.loc[a.t1 - a.t0 > window_ms, "t1"] = float("nan")
    a["t1k"] = a.t1.fillna(float("inf"))
    b = pd.merge_asof(a.sort_values("t1k"), orders.assign(t2=orders.t2.astype(float)).sort_values("t2"),
                      left_on="t1k", right_on="t2", by="session", direction="forward")
    b.loc[(b.t2 - b.t0 > window_ms) | b.t1.isna(), "t2"] = float("nan")
    level = (1 + b.t1.notna() + b.t2.notna()).groupby(b.session).max()
    return [int((level >= k).sum()) for k in (1, 2, 3)]


@pytest.mark.parametrize("window", [{"value": 14, "unit": "day"}, {"value": 1, "unit": "hour"},
                                    {"value": 10, "unit": "minute"}, {"value": 20, "unit": "second"},
                                    {"value": 5, "unit": "second"}])
def test_otto_funnel_matches_pandas(otto: tuple[cxlens.Workspace, pd.DataFrame], window: dict) -> None:
    ws, df = otto
    ms = window["value"] * {"day": 86_400, "hour": 3_600, "minute": 60, "second": 1}[window["unit"]] * 1000
    r = ws.query({"kind": "funnel", "steps": ["clicks", "carts", "orders"], "conversion_window": window})
    got = [s["count"] for s in r["steps"]]
    assert got == pandas_funnel(df, ms)
    assert got[0] == 20


def test_otto_cart_abandonment_from_the_funnel(otto: tuple[cxlens.Workspace, pd.DataFrame]) -> None:
    ws, df = otto
    r = ws.query({"kind": "funnel", "steps": ["carts", "orders"], "conversion_window": {"value": 31, "unit": "day"}})
    carted, ordered = (s["count"] for s in r["steps"])
    # pandas: sessions with a cart, and of those the ones with an order at or after their first cart
    first_cart = df[df.type == "carts"].groupby("session").ts.min()
    last_order = df[df.type == "orders"].groupby("session").ts.max()
    both = pd.concat([first_cart, last_order], axis=1, keys=["cart", "order"]).dropna()
    assert carted == len(first_cart) and ordered == int((both.order >= both.cart).sum())
    rate = proportion_ci(ProportionStat(carted, carted - ordered))
    assert rate.estimate == pytest.approx(1 - ordered / carted)
    lo, hi = proportion_confint(carted - ordered, carted, method="agresti_coull")
    assert (rate.ci_low, rate.ci_high) == pytest.approx((max(lo, 0), min(hi, 1)))


def test_otto_stickiness_and_lifecycle_match_pandas(otto: tuple[cxlens.Workspace, pd.DataFrame]) -> None:
    ws, df = otto
    s = ws.query({"kind": "stickiness", "event": "clicks", "interval": "day"})
    day = pd.to_datetime(df[df.type == "clicks"].ts, unit="ms").dt.floor("D")
    per = day.groupby(df[df.type == "clicks"].session).nunique()
    assert s["actors"] == 20
    assert {k + 1: n for k, n in enumerate(s["data"]) if n} == per.value_counts().sort_index().to_dict()
    life = ws.query({"kind": "lifecycle", "event": None, "interval": "week"})
    first_week = pd.to_datetime(df.groupby("session").ts.min(), unit="ms").dt.to_period("W-SAT").dt.start_time
    new = first_week.value_counts()
    assert dict(zip(life["dates"], life["new"], strict=True)) == {
        d: int(new.get(pd.Timestamp(d), 0)) for d in life["dates"]}


def test_uci_conversion_15_47_percent_by_visitor_type(shared_data: Path) -> None:
    with cxlens.Workspace() as ws:
        ws.import_file("sessions", shared_data / UCI, preset="uci_shoppers")
        total = ws.query({"kind": "conversion"})["rows"][0]
        by = {r["visitor_type"]: r for r in ws.query({"kind": "conversion", "by": ["visitor_type"]})["rows"]}
    # golden-figures.md: 12,330 sessions, 1,908 with Revenue = TRUE (15.47%); VisitorType 10,551 / 1,694 / 85
    assert (total["n"], total["successes"]) == (12_330, 1_908)
    assert round(100 * total["rate"]["estimate"], 2) == 15.47
    lo, hi = proportion_confint(1_908, 12_330, method="agresti_coull")
    assert (total["rate"]["ci_low"], total["rate"]["ci_high"]) == pytest.approx((lo, hi))
    assert {k: v["n"] for k, v in by.items()} == {"Returning_Visitor": 10_551, "New_Visitor": 1_694, "Other": 85}
    assert sum(v["successes"] for v in by.values()) == 1_908
