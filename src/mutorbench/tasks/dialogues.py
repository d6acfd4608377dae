"""`dialogues`: generated SAMSum-style chats with one-sentence summaries (tiny scale; offline).

Dialogue lines are ``Name: utterance`` like SAMSum; the summary restates who does what, where and
when, so a model must copy facts from the dialogue (ROUGE well above a lead-sentence baseline when
learned). Same template as the paper's summarization tasks; validation and test splits for the
paper's selection rule (best validation ROUGE-L, test reported).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mutorbench.tasks.generated import GeneratedTask
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
class DialoguesTask(GeneratedTask):
    name: str = "dialogues"
    metric: str = "rouge"

    def make(self, rng: random.Random) -> tuple[str, str]:
        dialogue, summary = make_dialogue(rng)
        return SUMMARY_TEMPLATE.format(dialogue=dialogue), " " + summary
