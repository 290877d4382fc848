"""lib.experiments.foundation: the GPT's greedy completion, without the prompt."""
from lib.experiments.foundation import complete
from lib.models import load_causal_lm


def test_complete_returns_only_the_new_greedy_tokens():
    model, tokenizer = load_causal_lm("tiny-neox")
    model.eval()
    prompt = "The capital of France is"
    text = complete(model, tokenizer, prompt, 3)
    again = complete(model, tokenizer, prompt, 3)
    assert text == again and text and prompt not in text  # greedy: the same continuation, and only it
