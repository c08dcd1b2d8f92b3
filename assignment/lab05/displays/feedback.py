"""Feedback on the reflections: why the best answer is best, shown once an answer is committed.

A reflection's feedback cell stays locked until every answer of the question is set to one of its
options; then it says, for each answer, whether it is the best one, why the best one is best, and
what the chosen one misses. The explanations below are stored compressed and base64-encoded so that
reading this file does not give the questions away at a glance. That is all it does: the text is no
secret (``decode_feedback(FEEDBACK)`` reads it; edit it there and store ``encode_feedback(...)``).
"""

from __future__ import annotations

import base64
import json
import textwrap
import zlib
from typing import Any

from lab05.constants import ACT1_PREDICTION_OPTIONS
from lab05.displays.common import PrintedDict
from lab05.guards import display_guard
from lab05.validate import matching_option

#: The options of each multiple-choice answer.
LETTERS = tuple(ACT1_PREDICTION_OPTIONS)
FAILURE_MODES = ("silent", "loud", "gradual")
#: The reflections, each with its answers (variable, options) in the order the notebook asks them.
QUESTIONS = {
    "act1_reflection": (("act1_reflection_reason", LETTERS), ("act1_failure_mode", FAILURE_MODES)),
    "act2_reflection": (("act2_reflection", LETTERS),),
    "deployment": (("deployment_answer", LETTERS),),
}
#: Columns of the printed explanations.
FEEDBACK_WIDTH = 100

#: variable -> {"best": option, "why": why it is best, "options": {other option: what it misses}},
#: as zlib-compressed, base64-encoded JSON.
FEEDBACK = (
    "eNqNVk2P2zYQ/SsDX3a3UNzdIs3BQQ+bFikKBGnQ9OPWBS2NLHYlUiApa90g/z1vhpItOwu0F0OmxOHMm/fe8NPKlOnuoTa2HQI/"
    "dL7i1YY+rbYcEx5W0bbs0qqgle+T9S7q210w1WBa+eCepj80xaDRh8gukt9zoGQ7Lqi1j0yGJHpLqTGJKpZtHMlEsilSZZKhKtg6"
    "xTXd4zX3FO2u87aimEz5SDbiYcBDHXyne2obYsIi9xv9zya0B2rNgUMkx3I8toZELd4463ZrqaP1Q5UTl6dj1jH5HjkHqluzi0iS"
    "KQxuQ8YRP5WsxRfyzw/pha9fdNz5cCAOwQes03vznqzTfa2PKOJP42xscKoCZIFipD74aiiZnHdMvpavI69Xn5HW2Bwkq/c+6R5J"
    "K27w4fJ0/BtzJfqMI9f0+3Sg4FP6rh8SVwSApfyDgvMa4NA/g0IlNdoOaew1yJZLM0TWrJfoXS1yNgAnWXeg7ZBob1o0xA3dFl+t"
    "6VeHLaNJpeY8107lEPYsWMrKHAkZhy5SQGKmlaYX0nv5IjMLDCqxWwJFLmWFKs8xo6MkDVy3+Q0eTfTujKn3lyR9I6sCDzoGWMAx"
    "DyIyik4js6NbdLOiu0ILQx4H+cB5wNQE6x4zFGTqhF993mi2MyvRPiN4DGgnsKPb9ffSA7MzoIHZ4lAsvVrTX0L3HFKbdIaJz4wZ"
    "DeAFyQv8C37YNfmk1vdcaEryFxjYvdH6lvtqH0CKSrn9o5T8MSd4FXMAFU5nWhFoyOK51ZKzQvgJcdHF20LhiCYNQQ+RfXK0Y65A"
    "qXpqJ7izbbnb0GhTM7FscGAYqhQRSjsghD5jeqo0JqsptOj9yyfqZ1A1759yqxBi9ENbIQiwXcpzMyksNn6MNPRLqcnJ3pWctaDc"
    "loTnPs1l9tCcS9YkMR2cHXY8ETlXLs0UxWLrMWnp5/PkL2hsbNnIF1CuAKUSCNz7kITdZ6p+g94isR7kUGi7oU22Bxkv6LA9TIgq"
    "NOjgqedTM6UviH8ijDbtvOPFvHD9dEPf0PUdvVis3BRaVoIbo1N3374skLUppW4vcsabJ/oB3KWPnt4dYZxsddLGZdYGjSoTKCKq"
    "UMNF7Jd/v8uSgRiQ5cEPR4fKvcrmM2kic7QzT7YbumMhXsyr8W0VT6am7CrkTyaBUg7dPVrFdwurOPOIN5cecX/0CCx29l8wZRoc"
    "zEv0o0wY8K5S+ghcNLLdNek0jY5wXKMlherlvjJdoS/T6GWciHUD906M9eak2F/SDAJohMOlu0Ew29AjBqFsWoq/ROMiTQMoi3bP"
    "4qwZ3cmKO8zRE3vQX1DQW5df59l7dmJxPKvmUYwPgS9DUjWE2emFfmI81BuMu4WKYaQyMx4xtc4GzNkGtRXNQKykQScx0I4QjuIV"
    "MIHjQLu2rubAUDks0oeyWTv/IJ9fC5/rYDrGtQMGWwfm3B8ZsRgw0aP6adA4fkqTrTdYQmLVpVLvj9Kb+rvwgkKYLnHKRjw+DK1k"
    "s1SCCcHuFUJhBYbAnvUGFPOlZw6tBN5cmHr2M01uy60f58tCNXvdZPQZPiHZRYCl4UPRVU5CpQV+VHlWIRPvb1TbWUxLh0nmIMnN"
    "1BpAlvaZ1mW7yPe2ycMFwYr71h+E2w/GRVDof0ovGQwU5IizwUurGqlVNHjZ+S1uoPTzhz/WdPVWb30Q1oINpXE6IGXnlcooDNPd"
    "SgYYZj14kWf8hHFny+BL71LwbStET/T2w92rkxzv80JxOmaRz/nmDSaQf5xnn+yCcMeTGo6hjpXlOZjZD5RFGub5vNT18s02czGq"
    "Jhc3s1Y4LvdDzlzYDtWOk1zraoks9iOkSDAt+pov8Yz4vwlj0tyOTM4RKfAydQn0TGvyXSB4oZun2EP+at1Zc9qBHCVXACPUCIFf"
    "/0dPvmoBhu4yo+sJmOKESvF12YuSb/ROKeMaxX/+Aqhki8w="
)


def encode_feedback(feedback: dict) -> str:
    """``feedback`` (variable -> best, why, options) as the text stored in FEEDBACK."""
    return base64.b64encode(zlib.compress(json.dumps(feedback, sort_keys=True).encode("utf-8"), 9)).decode("ascii")


def decode_feedback(text: str = FEEDBACK) -> dict:
    """The explanations stored in ``text``: variable -> {"best", "why", "options"}."""
    return json.loads(zlib.decompress(base64.b64decode(text)).decode("utf-8"))


def _wrapped(text: str, indent: str = "  ") -> str:
    return textwrap.fill(text, FEEDBACK_WIDTH, initial_indent=indent, subsequent_indent=indent)


@display_guard
def reflection_feedback(question: str, *answers: Any):
    """Explain a reflection once every one of its answers is set; until then, say it is locked.

    Args:
        question: a key of QUESTIONS ("act1_reflection", "act2_reflection", "deployment").
        *answers: the student's answers, in the order of QUESTIONS[question].

    Returns:
        dict: variable -> {"chosen", "best", "is_best"}; or None while an answer is not set.

    Raises:
        ValueError: for an unknown question or the wrong number of answers.
    """
    if question not in QUESTIONS:
        raise ValueError(f"unknown reflection {question!r}: expected one of {sorted(QUESTIONS)}")
    asked = QUESTIONS[question]
    if len(answers) != len(asked):
        names = ", ".join(variable for variable, _options in asked)
        raise ValueError(f"{question} needs {len(asked)} answers ({names}), got {len(answers)}")
    chosen = [matching_option(answer, options) for answer, (_variable, options) in zip(answers, asked)]
    unset = [(variable, options) for choice, (variable, options) in zip(chosen, asked) if choice is None]
    if unset:
        for variable, options in unset:
            how = "to " + ", ".join(f'"{o}"' for o in options[:-1]) + f' or "{options[-1]}"'
            print(
                f"🔒 This explanation opens once you commit to an answer.\n"
                f"   Set `{variable}` {how} in the answer cell above, run it, then run this cell again."
            )
        return None
    feedback = decode_feedback()
    result = PrintedDict()
    for choice, (variable, _options) in zip(chosen, asked):
        entry = feedback[variable]
        best = entry["best"]
        if choice == best:
            print(f'`{variable}`: you chose "{choice}", the best answer.')
        else:
            print(f'`{variable}`: you chose "{choice}"; the best answer is "{best}".')
            print(_wrapped(f'Why not "{choice}": {entry["options"][choice]}'))
        print(_wrapped(f'Why "{best}": {entry["why"]}'))
        result[variable] = {"chosen": choice, "best": best, "is_best": choice == best}
    return result
