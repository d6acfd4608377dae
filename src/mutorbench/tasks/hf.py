"""Loading a dataset split from the Hugging Face hub or from a local copy, with one clear error."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mutorbench.fsio import read_text
from mutorbench.tasks.base import FilesConfig, TaskBase

SHARD = re.compile(r"^(?P<split>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})\.(?:jsonl|json|parquet)$")
EXTENSIONS = (".jsonl", ".json", ".parquet")


def read_records(path: Path) -> list[dict]:
    """Rows of one local data file; every problem is one error naming the file (and line)."""
    if path.suffix == ".parquet":
        import datasets

        try:
            return list(datasets.load_dataset("parquet", data_files=[str(path)], split="train"))
        except Exception as err:  # noqa: BLE001 - any reader failure becomes one message
            raise ValueError(f"{path}: not a readable parquet file ({type(err).__name__})") from None
    text = read_text(path, "data file")
    stripped = text.lstrip()
    if path.suffix == ".json" and stripped.startswith("["):  # one JSON array
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
        numbered = list(enumerate(rows, 1))
    else:  # JSON lines (AQuA-RAT's .json files are JSON lines too)
        numbered = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                numbered.append((n, json.loads(line)))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n}: not valid JSON ({err.msg}); a truncated or "
                                 "damaged file?") from None
    for n, row in numbered:
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{n}: expected a JSON object per row, got "
                             f"{type(row).__name__}")
    if not numbered:
        raise ValueError(f"{path}: no rows")
    return [row for _, row in numbered]


def split_files(root: Path, split: str, *, config: str | None = None,
                aliases: tuple[str, ...] = ()) -> list[Path]:
    """The files of exactly one split under ``root``: ``{split}.jsonl|json|parquet``, the hub's
    shards ``{split}-00000-of-0000N.*`` (all of them), or a task's own published names
    (``aliases``, e.g. AQuA-RAT's ``dev.json``). Never a prefix match: ``test_socratic.jsonl`` is
    not GSM8K's test split. Matches in several folders are ambiguous unless one is ``config``."""
    names = {f"{split}{ext}" for ext in EXTENSIONS} | set(aliases)
    found = [p for p in sorted(root.rglob("*")) if p.is_file()
             and (p.name in names or (SHARD.match(p.name) and SHARD.match(p.name)["split"] == split))]
    if not found:
        return []
    folders = sorted({p.parent for p in found})
    if len(folders) > 1:
        chosen = [f for f in folders if config and f.name == config]
        if len(chosen) != 1:
            raise ValueError(f"split {split!r} is found in several folders of {root} "
                             f"({', '.join(str(f.relative_to(root)) or '.' for f in folders)}); "
                             f"name its file with --set task.files.{split}=PATH")
        found = [p for p in found if p.parent == chosen[0]]
    plain = [p for p in found if not SHARD.match(p.name)]
    if len(plain) > 1 or (plain and len(plain) != len(found)):
        raise ValueError(f"split {split!r} has several files in {found[0].parent} "
                         f"({', '.join(p.name for p in found)}); name one with "
                         f"--set task.files.{split}=PATH")
    if not plain:
        total = int(SHARD.match(found[0].name)["n"])
        if len(found) != total:
            raise ValueError(f"split {split!r} in {found[0].parent}: {len(found)} of {total} "
                             "shards present")
    return found


def load_split(dataset_id: str, split: str, *, config: str | None = None,
               revision: str | None = None, local_path: str | None = None,
               file: str | None = None, aliases: tuple[str, ...] = ()):
    """A `datasets.Dataset` for ``split``.

    ``file``: exactly this file (``task.files.<split>``). ``local_path`` may be a directory
    written by ``save_to_disk``, a directory holding the split's files (see ``split_files``: the
    hub's names, or the authors' published names), or a snapshot of the hub repository.
    """
    import datasets

    if file:
        path = Path(file)
        if not path.is_file():
            raise ValueError(f"dataset {dataset_id!r}: task.files.{split} {path} is not a file")
        return datasets.Dataset.from_list(read_records(path))
    if local_path:
        root = Path(local_path)
        if not root.is_dir():
            raise ValueError(f"dataset {dataset_id!r}: local copy {root} is not a folder")
        if (root / "dataset_dict.json").exists() or (root / "state.json").exists():
            try:
                ds = datasets.load_from_disk(str(root))
            except Exception as err:  # noqa: BLE001
                raise ValueError(f"dataset {dataset_id!r}: {root} is not a readable save_to_disk "
                                 f"folder ({type(err).__name__})") from None
            if isinstance(ds, datasets.DatasetDict):
                if split not in ds:
                    raise ValueError(f"dataset {dataset_id!r}: {root} has splits "
                                     f"{', '.join(ds)}, not {split!r}")
                return ds[split]
            return ds
        files = split_files(root, split, config=config, aliases=aliases)
        if files:
            return datasets.Dataset.from_list([r for f in files for r in read_records(f)])
        names = ", ".join([f"{split}.jsonl", *aliases])
        raise ValueError(f"dataset {dataset_id!r}: no {split!r} split in {root} (looked for "
                         f"{names} or {split}-*-of-*.parquet); name its file with "
                         f"--set task.files.{split}=PATH")
    try:
        return datasets.load_dataset(dataset_id, config, split=split, revision=revision)
    except Exception as err:  # noqa: BLE001 - offline, missing, gated: one clear message
        raise ValueError(
            f"cannot load dataset {dataset_id!r}"
            + (f" ({config})" if config else "") + f" split {split!r}: "
            f"{str(err).splitlines()[0][:160]}. Without hub access, download it elsewhere and "
            "point --set task.local_path=DIR at the copy"
        ) from None


class HFConfig(FilesConfig):
    revision: str | None = None  # hub dataset revision (None: the task's pinned one)


class HFTask(TaskBase):
    """A (prompt, answer) task over hub datasets; subclasses give ids, splits and the template.

    ``split_sources`` maps our split names (train/validation/test) to (dataset id, config, hub split),
    since some tasks train on one dataset and test on another (OpenMathInstruct-2 -> GSM8K/MATH500).
    """

    Config = HFConfig
    name = "hf"
    metric = "exact"
    split_sources: dict[str, tuple[str, str | None, str]] = {}
    # the authors' own file names of a split (besides the hub's), e.g. AQuA-RAT's dev.json
    published_names: dict[str, tuple[str, ...]] = {}
    # further sources a split is built from (e.g. 1M-GSM-extra's 2M-GSM), keyed as task.files
    extra_sources: dict[str, tuple[str, str | None, str]] = {}

    def __init__(self, local_path: str | None = None, revision: str | None = None,
                 files: dict[str, str] | None = None):
        # local_path: one folder holding every split this task reads, as files named after the
        # hub split (e.g. train_1M.jsonl and test.jsonl for 1M-GSM), or a save_to_disk folder.
        # files: one explicit file per split, which wins over local_path.
        self.local_path, self.revision, self.files = local_path, revision, dict(files or {})
        unknown = sorted(set(self.files) - set(self.split_sources) - set(self.extra_sources))
        if unknown:
            raise ValueError(f"task.files names splits {unknown}; task {self.name!r} has "
                             f"{', '.join([*self.split_sources, *self.extra_sources])}")
        self._cache: dict[str, list[tuple[str, str]]] = {}

    @classmethod
    def from_config(cls, cfg):
        return cls(local_path=cfg.local_path, revision=cfg.revision, files=cfg.files)

    def sources(self) -> dict:
        out = {"datasets": {s: {"id": d, "config": c, "split": h}
                            for s, (d, c, h) in {**self.split_sources,
                                                 **self.extra_sources}.items()},
               "revision": self.revision, "local_path": self.local_path}
        return out | ({"files": self.files} if self.files else {})

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
            self._cache[split] = self.source_pairs(split, self.split_sources[split], split)
        return self._cache[split]

    def source_pairs(self, key: str, source: tuple[str, str | None, str],
                     split: str) -> list[tuple[str, str]]:
        """The (prompt, answer) pairs of one source (``key``: its task.files name), prepared and
        templated as ``split``; every problem is one error naming the dataset."""
        dataset_id, config, hub_split = source
        ds = load_split(dataset_id, hub_split, config=config, revision=self.revision,
                        local_path=self.local_path, file=self.files.get(key),
                        aliases=self.published_names.get(key, ()))
        try:
            ds = self.prepare(ds, split)
            pairs = [self.pair(row, split) for row in ds]
        except KeyError as err:
            raise ValueError(f"dataset {dataset_id!r} split {hub_split!r}: missing column "
                             f"{err.args[0]!r} (columns: {', '.join(ds.column_names)})") from None
        except (AttributeError, TypeError) as err:  # e.g. a null where text belongs
            raise ValueError(f"dataset {dataset_id!r} split {hub_split!r}: a row has a value "
                             f"of the wrong type ({err})") from None
        for n, (_, answer) in enumerate(pairs):
            if not answer.strip():
                raise ValueError(f"dataset {dataset_id!r} split {hub_split!r}, row {n}: "
                                 "empty answer")
        if not pairs:
            raise ValueError(f"dataset {dataset_id!r} split {hub_split!r}: no examples")
        return pairs
