"""`dialogues`: generated SAMSum-style chats with one-sentence summaries (tiny scale; offline).

Dialogue lines are ``Name: utterance`` like SAMSum; the summary restates who does what, where and
when, so a model must copy facts from the dialogue (ROUGE well above a lead-sentence baseline when
learned). Same template as the paper's summarization tasks; validation and test splits for the
paper's selection rule (best validation ROUGE-L, test reported).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mutorbench.tasks.summarization import SUMMARY_TEMPLATE

NAMES = ["Amanda", "Jerry", "Olivia", "Hannah", "Eric", "Lenny", "Kate", "Tom", "Mia", "Paul"]
PLACES = ["the cinema", "the park", "the station", "Luca's bar", "the gym", "the library"]
TIMES = ["at 5", "at 7 pm", "tomorrow morning", "on Friday", "after work", "at noon"]
ITEMS = ["milk", "a cake", "the tickets", "some bread", "flowers", "a charger"]


def _meeting(rng, a, b):
    place, time = rng.choice(PLACES), rng.choice(TIMES)
    lines = [f"{a}: Hey, are you free {time}?", f"{b}: I think so, why?",
             f"{a}: Let's meet at {place}.", f"{b}: Sure, see you {time} at {place}!"]
    if rng.random() < 0.5:
        lines.insert(2, f"{a}: I need to talk to you.")
    return lines, f"{a} and {b} will meet at {place} {time}."


def _errand(rng, a, b):
    item, time = rng.choice(ITEMS), rng.choice(TIMES)
    lines = [f"{a}: Can you buy {item}?", f"{b}: When do you need it?", f"{a}: {time.capitalize()}.",
             f"{b}: Ok, I'll get {item}."]
    if rng.random() < 0.5:
        lines.append(f"{a}: Thanks!")
    return lines, f"{b} will buy {item} for {a} {time}."


def _cancel(rng, a, b):
    place, time = rng.choice(PLACES), rng.choice(TIMES)
    lines = [f"{a}: Sorry, I can't come to {place} {time}.", f"{b}: Oh no, what happened?",
             f"{a}: I'm sick.", f"{b}: Get well soon!"]
    return lines, f"{a} is sick and won't come to {place} {time}."


SCENES = (_meeting, _errand, _cancel)


def make_dialogue(rng: random.Random) -> tuple[str, str]:
    a, b = rng.sample(NAMES, 2)
    lines, summary = rng.choice(SCENES)(rng, a, b)
    return "\n".join(lines), summary


@dataclass
class DialoguesTask:
    data_seed: int = 0
    train_examples: int = 2000
    eval_examples: int = 128
    name: str = "dialogues"
    metric: str = "rouge"
    _cache: list = field(default_factory=list, repr=False)

    def sources(self) -> dict:
        return {"generator": "mutorbench.tasks.dialogues", "data_seed": self.data_seed,
                "train_examples": self.train_examples, "eval_examples": self.eval_examples}

    def texts(self, split: str) -> list[tuple[str, str]]:
        if not self._cache:
            rng = random.Random(self.data_seed)
            for _ in range(self.train_examples + 2 * self.eval_examples):
                dialogue, summary = make_dialogue(rng)
                self._cache.append((SUMMARY_TEMPLATE.format(dialogue=dialogue), " " + summary))
        n, m = self.train_examples, self.eval_examples
        splits = {"train": self._cache[:n], "validation": self._cache[n:n + m],
                  "test": self._cache[n + m:n + 2 * m]}
        if split not in splits:
            raise ValueError(f"task 'dialogues' has splits train, validation and test, not {split!r}")
        return splits[split]

    def tokenizer_corpus(self) -> list[str]:
        return [p + a for p, a in self.texts("train")]
