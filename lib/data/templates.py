"""Prompt templates: one plain prompt per task and several FLAN-style instruction prompts in our own wording."""
from __future__ import annotations

from .errors import DataError

STYLES: tuple[str, ...] = ("plain", "flan")

# Each template is filled with str.format(**record.fields) and ends right before the answer (no trailing space):
# the target always starts with a space.
PLAIN: dict[str, str] = {
    "sst2": "Review: {sentence}\nSentiment:",
    "rte": "Premise: {premise}\nHypothesis: {hypothesis}\nDoes the premise entail the hypothesis?",
    "boolq": "Passage: {passage}\nQuestion: {question}\nAnswer:",
    "webnlg": "Triples: {triples}\nText:",
    "wmt16_de_en": "German: {de}\nEnglish:",
    "cnn_dailymail": "Article: {article}\nSummary:",
}

FLAN: dict[str, tuple[str, ...]] = {
    "sst2": (
        "Is the sentiment of this movie review positive or negative?\n\n{sentence}\nAnswer:",
        "{sentence}\n\nDid the reviewer like the movie? Answer positive or negative.\nAnswer:",
        "Classify the sentiment of the following sentence as positive or negative.\n\nSentence: {sentence}\nSentiment:",
    ),
    "rte": (
        "{premise}\n\nBased on the paragraph above, can we conclude that \"{hypothesis}\"? Answer yes or no.\nAnswer:",
        "Premise: {premise}\nHypothesis: {hypothesis}\n\n"
        "If the premise is true, must the hypothesis be true? yes or no?\nAnswer:",
        "Read the text and decide whether the claim follows from it.\n\n"
        "Text: {premise}\nClaim: {hypothesis}\nDoes the claim follow (yes or no)?",
    ),
    "boolq": (
        "{passage}\n\nAfter reading the passage above, answer the question with yes or no.\n"
        "Question: {question}\nAnswer:",
        "Answer the yes/no question using the passage.\n\nPassage: {passage}\nQuestion: {question}\nAnswer:",
        "Question: {question}\nContext: {passage}\n\nIs the answer to the question yes or no?",
    ),
    "webnlg": (
        "Write a fluent sentence that expresses all of the following facts.\n\nFacts: {triples}\nSentence:",
        "Turn this knowledge-graph data into plain English text.\n\n{triples}\nText:",
        "Data: {triples}\n\nDescribe the data above in one or two sentences.\nDescription:",
    ),
    "wmt16_de_en": (
        "Translate the following German sentence into English.\n\n{de}\nEnglish:",
        "German: {de}\n\nWhat is this sentence in English?\nTranslation:",
        "Please translate from German to English.\n\nSource: {de}\nTarget:",
    ),
    "cnn_dailymail": (
        "Summarize the following news article in a few sentences.\n\n{article}\nSummary:",
        "{article}\n\nWrite the highlights of the article above.\nHighlights:",
        "Article: {article}\n\nWhat are the key points of this article?\nKey points:",
    ),
}


def check_style(task: str, style: str) -> str:
    """`style` if it is a known prompt style, else DataError naming the task and the valid styles."""
    if style not in STYLES:
        raise DataError(f"{task}: unknown prompt style {style!r}; expected one of {', '.join(STYLES)}")
    return style


def template_for(task: str, style: str, example_id: int, template: int | None = None) -> str:
    """The template string for one example: the plain one, the forced FLAN one, or a FLAN one picked by id."""
    check_style(task, style)
    if style == "plain":
        if template not in (None, 0):
            raise DataError(f"{task}: style 'plain' has one template (index 0), got template={template!r}")
        return PLAIN[task]
    options = FLAN[task]
    if template is None:
        return options[example_id % len(options)]
    if not isinstance(template, int) or not 0 <= template < len(options):
        raise DataError(f"{task}: FLAN template index must be in 0..{len(options) - 1}, got {template!r}")
    return options[template]


def template_index(task: str, style: str, example_id: int, template: int | None = None) -> int:
    """Which template index template_for picks (always 0 for plain), so reports can count the templates used."""
    template_for(task, style, example_id, template)
    if style == "plain":
        return 0
    return template if template is not None else example_id % len(FLAN[task])
