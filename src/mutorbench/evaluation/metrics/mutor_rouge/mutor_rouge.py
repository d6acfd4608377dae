"""`evaluate` metric script: deterministic ROUGE (see mutorbench.evaluation.rouge)."""

import datasets
import evaluate

from mutorbench.evaluation.rouge import RULE, compute_rouge


class MutorRouge(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=f"Deterministic ROUGE-1/2/L/Lsum in percent ({RULE}).",
            citation="Lin, 2004. ROUGE: A Package for Automatic Evaluation of Summaries.",
            inputs_description="predictions: list of str; references: list of str",
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}),
        )

    def _compute(self, predictions, references, use_stemmer=False):
        return compute_rouge(predictions, references, use_stemmer=use_stemmer)
