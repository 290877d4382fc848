"""Task data for the simulations: six tasks read from local files, rendered as Examples, drawn into seeded splits."""
from .errors import DataError
from .example import Example, make_id, split_id
from .loading import clear_cache, load_examples, load_records
from .registry import SPLITS, TASK_NAMES, TASKS, TaskSpec, get_task
from .splits import TaskSplits, draw_splits, instruction_mixture
from .templates import FLAN, PLAIN, STYLES, template_index

__all__ = [
    "DataError",
    "Example",
    "FLAN",
    "PLAIN",
    "SPLITS",
    "STYLES",
    "TASKS",
    "TASK_NAMES",
    "TaskSpec",
    "TaskSplits",
    "clear_cache",
    "draw_splits",
    "get_task",
    "instruction_mixture",
    "load_examples",
    "load_records",
    "make_id",
    "split_id",
    "template_index",
]
