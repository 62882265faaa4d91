import pandas as pd

from bench.synthetic import generate


def test_tables_are_deterministic_nested_and_learnable(tmp_path):
    generate(25_000, 6, 0, tmp_path / "big.parquet")
    generate(10_000, 6, 0, tmp_path / "small.parquet")
    big, small = pd.read_parquet(tmp_path / "big.parquet"), pd.read_parquet(tmp_path / "small.parquet")
    assert big.shape == (25_000, 9) and list(big.columns) == [
        *(f"f0{j}" for j in range(6)),
        "colour",
        "city",
        "target",
    ]
    assert big["city"].nunique() == 1000 and big["colour"].nunique() == 10
    assert 0.03 < big["f01"].isna().mean() < 0.07
    pd.testing.assert_frame_equal(big.iloc[:10_000], small)  # the smaller table is a prefix
    generate(10_000, 6, 0, tmp_path / "small.csv")
    as_csv = pd.read_csv(tmp_path / "small.csv", dtype={f"f0{j}": "float32" for j in range(6)})
    pd.testing.assert_frame_equal(as_csv, small)  # the same table as CSV
    assert 0.3 < big["target"].mean() < 0.7
    # The signal is learnable: the score's first feature alone separates the classes better than chance.
    assert abs(big.groupby("target")["f00"].mean().diff().iloc[-1]) > 0.1
