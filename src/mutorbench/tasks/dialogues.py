"""`dialogues`: generated SAMSum-style chats with one-sentence summaries (tiny scale; offline).

Dialogue lines are ``Name: utterance`` like SAMSum; the summary restates who does what, where and
when, so a model must copy facts from the dialogue (ROUGE well above a lead-sentence baseline when
learned). Same template as the paper's summarization tasks; validation and test splits for the
paper's selection rule (best validation ROUGE-L, test reported).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mutorbench.registry import TASKS
from mutorbench.tasks.generated import GeneratedTask
from mutorbench.tasks.summarization import SUMMARY_TEMPLATE, LeadBaseline

NAMES = ["Amanda", "Jerry", "Olivia", "Hannah", "Eric", "Lenny", "Kate", "Tom", "Mia", "Paul",
         "Sophie", "Adam", "Nina", "Greg", "Laura", "Victor"]
PLACES = ["the cinema", "the park", "the station", "Luca's bar", "the gym", "the library",
          "the mall", "the beach", "the office", "Anna's place"]
TIMES = ["at 5", "at 7 pm", "tomorrow morning", "on Friday", "after work", "at noon", "on Sunday",
         "at 9 am", "tonight", "next week"]
ITEMS = ["milk", "a cake", "the tickets", "some bread", "flowers", "a charger", "coffee", "eggs",
         "a present for Mom", "new batteries"]
SMALL_TALK = [("How was your day?", "Busy, but ok."), ("Did you see the game?", "Yes, what a match!"),
              ("It's so cold today.", "I know, brr."), ("How is your sister?", "She's fine, thanks."),
              ("I'm so tired.", "Me too, long week.")]


def _chat(rng, a, b) -> list[str]:
    """0-2 exchanges of small talk: words the summary must leave out."""
    out = []
    for question, answer in rng.sample(SMALL_TALK, rng.randint(0, 2)):
        out += [f"{a}: {question}", f"{b}: {answer}"]
    return out


def _meeting(rng, a, b):
    place, time = rng.choice(PLACES), rng.choice(TIMES)
    lines = _chat(rng, a, b) + [f"{a}: Are you free {time}?", f"{b}: I think so, why?",
                                f"{a}: Let's meet at {place}."]
    if rng.random() < 0.5:  # a counter-proposal: the summary keeps the final decision
        place = rng.choice([p for p in PLACES if p != place])
        lines += [f"{b}: Can we go to {place} instead?", f"{a}: Fine, {place} it is."]
    else:
        lines.append(f"{b}: Sure, see you there!")
    return lines, f"{a} and {b} will meet at {place} {time}."


def _errand(rng, a, b):
    first, second = rng.sample(ITEMS, 2)
    time = rng.choice(TIMES)
    lines = _chat(rng, a, b) + [f"{a}: Can you buy {first}?", f"{b}: When do you need it?",
                                f"{a}: {time.capitalize()}."]
    if rng.random() < 0.5:
        lines += [f"{a}: And {second} too, please.", f"{b}: Ok, {first} and {second}."]
        return lines, f"{b} will buy {first} and {second} for {a} {time}."
    lines.append(f"{b}: Ok, I'll get {first}.")
    return lines, f"{b} will buy {first} for {a} {time}."


def _cancel(rng, a, b):
    place, time = rng.choice(PLACES), rng.choice(TIMES)
    reason, said = rng.choice([("is sick", "I'm sick."), ("has to work", "I have to work."),
                               ("missed the bus", "I missed the bus.")])
    lines = _chat(rng, a, b) + [f"{a}: Sorry, I can't come to {place} {time}.",
                                f"{b}: Oh no, what happened?", f"{a}: {said}", f"{b}: No worries."]
    return lines, f"{a} {reason} and won't come to {place} {time}."


SCENES = (_meeting, _errand, _cancel)


def make_dialogue(rng: random.Random) -> tuple[str, str]:
    a, b = rng.sample(NAMES, 2)
    lines, summary = rng.choice(SCENES)(rng, a, b)
    return "\n".join(lines), summary


@TASKS.register
@dataclass
class DialoguesTask(LeadBaseline, GeneratedTask):
    name: str = "dialogues"
    metric: str = "rouge"

    def make(self, rng: random.Random) -> tuple[str, str]:
        dialogue, summary = make_dialogue(rng)
        return SUMMARY_TEMPLATE.format(dialogue=dialogue), " " + summary
