"""Fixtures for the lifetime tests: the CDNOW files in ../shared/data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CDNOW = SHARED_DATA / "transactions" / "cdnow_lifetimes"


@pytest.fixture(scope="session")
def cdnow_dir() -> Path:
    """``../shared/data/transactions/cdnow_lifetimes`` beside the repository."""
    if not (CDNOW / "CDNOW_sample.txt").is_file():
        pytest.skip(f"{CDNOW} is absent (the shared CDNOW files sit beside the repository in CI)")
    return CDNOW


@pytest.fixture(scope="session")
def cdnow_sample_tx(cdnow_dir: Path) -> pd.DataFrame:
    """Raw CDNOW 1/10 sample: master id, sample id (1-2357), date, CDs, dollars (no header)."""
    tx = pd.read_csv(
        cdnow_dir / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer", "date", "cds", "amount"],
        dtype={"date": str},
    )
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


@pytest.fixture(scope="session")
def cdnow_master_tx(cdnow_dir: Path) -> pd.DataFrame:
    """Raw CDNOW master file (header line ``customer_id date number_of_cds dollar_value``)."""
    tx = pd.read_csv(cdnow_dir / "CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


@pytest.fixture(scope="session")
def cdnow_summary_raw(cdnow_sample_tx: pd.DataFrame) -> pd.DataFrame:
    """Summary rebuilt from CDNOW_sample.txt: weeks, calibration end 1997-09-30."""
    from cxlens.lifetime import rfm_summary

    tx = cdnow_sample_tx
    return rfm_summary(tx["customer"], tx["date"], tx["amount"], "1997-09-30", time_unit="week")


@pytest.fixture(scope="session")
def cdnow_summary_csv(cdnow_dir: Path) -> pd.DataFrame:
    """Published summary ``cdnow_customers_summary.csv`` (ID, frequency, recency, T; 2 decimals)."""
    return pd.read_csv(cdnow_dir / "cdnow_customers_summary.csv")


@pytest.fixture(scope="session")
def cdnow_summary_zbar_csv(cdnow_dir: Path) -> pd.DataFrame:
    """Published ``cdnow_customers_summary_with_transactions.csv`` (ID, x, t_x, T, zbar; 2 decimals)."""
    return pd.read_csv(cdnow_dir / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="session")
def donations(cdnow_dir: Path) -> pd.DataFrame:
    """Compressed donation histories (frequency, recency, periods, weights), FHS 2010."""
    return pd.read_csv(cdnow_dir / "donations.csv")


@pytest.fixture(scope="session")
def bg_raw(cdnow_summary_raw: pd.DataFrame):
    """BG/NBD fitted on the summary rebuilt from the raw sample."""
    from cxlens.lifetime import BetaGeoFitter

    s = cdnow_summary_raw
    return BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])


@pytest.fixture(scope="session")
def pnbd_raw(cdnow_summary_raw: pd.DataFrame):
    """Pareto/NBD fitted on the summary rebuilt from the raw sample."""
    from cxlens.lifetime import ParetoNBDFitter

    s = cdnow_summary_raw
    return ParetoNBDFitter().fit(s["frequency"], s["recency"], s["T"])
