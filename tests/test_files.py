"""Results are written all or nothing: an interrupted write leaves the old result."""

import pandas as pd
import pytest

from adapt._files import staged, write_table


def test_a_failed_write_leaves_the_old_file_and_no_staging(tmp_path):
    out = tmp_path / "rec.parquet"
    write_table(pd.DataFrame({"a": [1, 2]}), out)
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_table(pd.DataFrame({"a": [3]}), out)
    unwritable = pd.DataFrame({"a": [object(), 1]})  # pyarrow cannot convert it
    with pytest.raises(Exception):  # noqa: B017  (whatever pyarrow raises)
        write_table(unwritable, out, overwrite=True)
    assert pd.read_parquet(out)["a"].tolist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["rec.parquet"]


def test_a_folder_appears_only_when_complete(tmp_path):
    out = tmp_path / "model"
    with pytest.raises(RuntimeError), staged(out) as folder:
        folder.mkdir()
        (folder / "half.json").write_text("{}")
        raise RuntimeError("interrupted")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with staged(out) as folder:
        folder.mkdir()
        (folder / "model.json").write_text("{}")
    assert (out / "model.json").exists()


def test_the_extension_decides_the_format(tmp_path):
    table = pd.DataFrame({"person_id": ["007"], "x": [1.5]})
    write_table(table, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "person_id,x"
    with pytest.raises(ValueError, match="expected a .parquet or .csv"):
        write_table(table, tmp_path / "t.xlsx")
