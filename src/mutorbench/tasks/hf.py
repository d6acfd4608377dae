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
