"""Loading a dataset split from the Hugging Face hub or from a local copy, with one clear error."""

from __future__ import annotations

from pathlib import Path


def load_split(dataset_id: str, split: str, *, config: str | None = None,
               revision: str | None = None, local_path: str | None = None):
    """A `datasets.Dataset` for ``split``.

    ``local_path`` may be a directory written by ``save_to_disk``, a directory of data files
    (``{split}.jsonl``/``.json``/``.parquet``, as the hub repos and our tests use), or a snapshot
    of the hub repository.
    """
    import datasets

    if local_path:
        root = Path(local_path)
        if not root.exists():
            raise ValueError(f"dataset {dataset_id!r}: local copy {root} does not exist")
        if (root / "dataset_dict.json").exists() or (root / "state.json").exists():
            ds = datasets.load_from_disk(str(root))
            return ds[split] if isinstance(ds, datasets.DatasetDict) else ds
        for ext, builder in ((".jsonl", "json"), (".json", "json"), (".parquet", "parquet")):
            files = sorted(root.glob(f"**/{split}*{ext}"))
            if files:
                return datasets.load_dataset(builder, data_files=[str(f) for f in files],
                                             split="train")
        try:
            return datasets.load_dataset(str(root), config, split=split)
        except Exception as err:  # noqa: BLE001 - any loader failure becomes one message
            raise ValueError(f"dataset {dataset_id!r}: no {split!r} split found in {root} "
                             f"({type(err).__name__})") from None
    try:
        return datasets.load_dataset(dataset_id, config, split=split, revision=revision)
    except Exception as err:  # noqa: BLE001 - offline, missing, gated: one clear message
        raise ValueError(
            f"cannot load dataset {dataset_id!r}"
            + (f" ({config})" if config else "") + f" split {split!r}: "
            f"{str(err).splitlines()[0][:160]}. Without hub access, download it elsewhere and "
            "point --set task.local_path=DIR at the copy"
        ) from None


class HFTask:
    """A (prompt, answer) task over hub datasets; subclasses give ids, splits and the template.

    ``split_sources`` maps our split names (train/validation/test) to (dataset id, config, hub split),
    since some tasks train on one dataset and test on another (OpenMathInstruct-2 -> GSM8K/MATH500).
    """

    name = "hf"
    metric = "exact"
    split_sources: dict[str, tuple[str, str | None, str]] = {}

    def __init__(self, local_path: str | None = None, revision: str | None = None):
        # local_path: one folder holding every split this task reads, as files named after the
        # hub split (e.g. train_1M.jsonl and test.jsonl for 1M-GSM), or a save_to_disk folder.
        self.local_path, self.revision = local_path, revision
        self._cache: dict[str, list[tuple[str, str]]] = {}

    def sources(self) -> dict:
        return {"datasets": {s: {"id": d, "config": c, "split": h}
                             for s, (d, c, h) in self.split_sources.items()},
                "revision": self.revision, "local_path": self.local_path}

    def prepare(self, ds, split: str):
        """Filter/select rows of a loaded split (identity by default)."""
        return ds

    def pair(self, row: dict, split: str) -> tuple[str, str]:
        raise NotImplementedError

    def texts(self, split: str) -> list[tuple[str, str]]:
        if split not in self._cache:
            if split not in self.split_sources:
                raise ValueError(f"task {self.name!r} has splits {', '.join(self.split_sources)}, "
                                 f"not {split!r}")
            dataset_id, config, hub_split = self.split_sources[split]
            ds = load_split(dataset_id, hub_split, config=config, revision=self.revision,
                            local_path=self.local_path)
            ds = self.prepare(ds, split)
            try:
                self._cache[split] = [self.pair(row, split) for row in ds]
            except KeyError as err:
                raise ValueError(f"dataset {dataset_id!r} split {hub_split!r}: missing column "
                                 f"{err.args[0]!r} (columns: {', '.join(ds.column_names)})") from None
        return self._cache[split]

    def tokenizer_corpus(self) -> list[str]:
        return [p + a for p, a in self.texts("train")]
