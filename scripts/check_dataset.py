#!/usr/bin/env python3
"""Checks that the dataset stage's Parquet files load in pandas and HF `datasets` as they are,
and that their `messages` column has the shape TRL's SFTTrainer expects (a list of
{"role", "content"} dicts: optional system, then user, then assistant).

Usage: python3 scripts/check_dataset.py [ARTIFACTS_ROOT]   (default: artifacts)

Exits 0 with a "skipped" message when pandas, pyarrow or datasets are not installed (the Rust
tests do not depend on Python), 1 when a check fails, 0 when every check passes. When `trl` is
installed, its own `is_conversational` check is applied too.
"""

import json
import sys
from pathlib import Path

SPLITS = ("train", "val", "test")
COLUMNS = {
    "id", "messages", "text", "prompt_len_tokens", "total_len_tokens", "type", "source",
    "source_id", "split", "license", "truncated",
}


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "artifacts")
    try:
        import datasets  # noqa: F401
        import pandas as pd
        import pyarrow.parquet as pq
    except ImportError as e:
        print(f"check_dataset: skipped: {e.name} is not installed "
              "(pip install pandas pyarrow datasets to run this check)")
        return 0
    from datasets import load_dataset

    files = {s: root / "dataset" / f"{s}.parquet" for s in SPLITS}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        print(f"check_dataset: missing {', '.join(missing)}; run `cargo run -p dataset` first")
        return 1

    failures = []

    def check(ok, message):
        if not ok:
            failures.append(message)

    source_splits = {}
    for split, path in files.items():
        meta = pq.read_metadata(path).metadata or {}
        check(meta.get(b"lift.artifact") == b"dataset.rows", f"{path}: lift.artifact is {meta.get(b'lift.artifact')!r}")
        frame = pd.read_parquet(path)
        check(set(frame.columns) == COLUMNS, f"{path}: pandas columns {sorted(frame.columns)}")
        check((frame["split"] == split).all(), f"{path}: rows of another split")
        check((frame["prompt_len_tokens"] < frame["total_len_tokens"]).all(), f"{path}: prompt not shorter than total")
        for source_id in frame["source_id"].unique():
            source_splits.setdefault(source_id, set()).add(split)
        print(f"pandas   {split:5}: {len(frame)} rows, columns ok")

    data = load_dataset("parquet", data_files={s: str(p) for s, p in files.items()})
    try:
        from trl.data_utils import is_conversational
    except ImportError:
        is_conversational = None
    for split in SPLITS:
        ds = data[split]
        feature = ds.features["messages"]
        # `datasets` reads list<struct<role, content>> as a list of {role, content} dicts.
        inner = getattr(feature, "feature", feature[0] if isinstance(feature, list) else None)
        check(inner is not None and set(inner.keys()) == {"role", "content"}, f"{split}: messages feature {feature}")
        for i, row in enumerate(ds):
            roles = [m["role"] for m in row["messages"]]
            ok = roles in (["system", "user", "assistant"], ["user", "assistant"])
            ok = ok and all(isinstance(m["content"], str) and m["content"] for m in row["messages"])
            check(ok, f"{split} row {i}: roles {roles}")
            if is_conversational is not None and i < 100:
                check(is_conversational({"messages": row["messages"]}), f"{split} row {i}: TRL says not conversational")
            if len(failures) > 20:
                break
        print(f"datasets {split:5}: {ds.num_rows} rows, messages {json.dumps(roles)}"
              + (", TRL is_conversational ok" if is_conversational else " (trl not installed: its check skipped)"))

    leaks = [s for s, splits in source_splits.items() if len(splits) > 1]
    check(not leaks, f"source ids in two splits: {leaks[:5]}")

    if failures:
        for f in failures[:20]:
            print(f"FAIL {f}")
        return 1
    print("check_dataset: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
