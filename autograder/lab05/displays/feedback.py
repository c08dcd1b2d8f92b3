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
    "eNqNVsGO2zYQ/ZXBXna3UNxsEfTgoIdNixQFgjRo0vbWBS2NLHYpUiWp1TpB/r1vhrItexdoL4ZMicOZ99684ZcLU+ebu9ZYN0a+"
    "60PDF2v6crHhlPFwkaxjny8qughDtsEnfbuNphmNkw9uaf5DcwyaQkzsE4UHjpRtzxU5e89kSKI7yp3J1LBs40Qmkc2JGpMNNdG2"
    "Oa3oFq95oGS3fbANpWzqe7IJDyMe2hh63dPamDIWeVjrfzbR7ciZHcdEnuV4bI2ZHN5467crqcOFsSmJy9Mh65TDgJwjtc5sE5Jk"
    "iqNfk/HEjzVr8ZX8C2N+EdoXPfch7ohjDBHr9N68J+t1nwsJRfxhvE0dTlWALFBMNMTQjDWTD54ptPJ14tXFV6Q1dTvJ6n3IukfS"
    "Smt8uDwd/6ZSiT7jyBV9mg8UfOrQD2PmhgCwlL9TcF4DHPp7VKikRtsjjQcNsuHajIk16yV6l4ucDcDJ1u9oM2Z6MA6E+LHf4KsV"
    "/eqxZTK51pz3tVM9xgcWLGVlHwkZxz5RRGLGCemVcC9fFGVBQTV2S6DEtaxQEzgVdFSkkVtX3uDRpOBPlHp7LtI3sirwgDHAAo0F"
    "CJFRdJ6YPb0Emw3dVFpY+mdk/iyHA0cfsNBF6++xAAkclKjoXKZDxE41bmIYEUk47Yxrq/IZmTbjV59X9KeIvsRMtOXQc462Ng74"
    "2XSKUygqmgwgh/Ar/MMB205XkwsDV5qh/AUu9sFozct9bYgQSqN6/1Fg+GjyGI1IY/S2QDEYMCUHkHF9SMKPSm/Go2wQFmZAPHPD"
    "zZomm7tZXRJLtCYRhQY0AGCp6JF+oJfVaVUpWyce4cD9q0cajtAIRanHC+rNo+3HvhS5x0UVWh0lrWdoZT8VgvFmCqNrkAKoWjb1"
    "eu7L1IUp0TgsG1QCBl9zOV87AuUdmC72wY8DWPXZArokwU3c8iz/SuVj0BLS59h6KNXKp8+2TEVTZ+tOvkC/7xFHTwwhZumJEy94"
    "A3KQ2GC2hYh+dNkOkPCZYDa7GZq9PI+qmKEUFhH/KClJfS4V38+imheuHq/pG7q6oReLletKy8qkUrn59lWFrE0tdQcxAbxR1lf0"
    "MdC704ZJs/CfZG1AVJ3hE7BCozaN2K/+erfWLzfaVbswHnytcFUsa1bHM8JBIUEsrwuuSWe6qeRPEYEKFuweDOa7hcGcOMubc2e5"
    "PTgLFnv7GUqZxw3zEv0kcwm6a1Q+AhdNbLddPs6wAxxXoKSSxqXbxvSVvsxTkCEkhg/ce7Hj62NP/5L3IEBGOFzYVSda0z3Gp2xa"
    "2kMN4hLNY0v5Nw8sflzQnQ28x/Q9qgf8QoLB+vK6TOyTE6vDWS1PYnoIfB6SmjHu54PIT6xJ7WfZxbzTSXOPWXcylk42qAlpBj2M"
    "qAOTGIMHCCdxGJjAYQxeWd9yZHQ5zCjEulv5cCefX4me22h6xmUFhtxG5sKPmDjGUgqofh5Pnh/zbOkdlpBYc96pt4fWm/ldeEEl"
    "Slcj6wz8J46Oz6zRxGgfFEJRhdlgqOi9KZWr0j60Cnh9ZvvFzzS5Dbsw7a8Yzd7r5lFQ4BORnQXYt79oCR3dlCS0taCPRuxrlExC"
    "uNbeLs20dJhsdpLcXlojxOKeoa7YRbntFedXBBseXNiJtu+MT5DQ/2y9bDZOcsTZ0KXVHmm1afCyDxvcW+nnD7+v6PKt3hXRWAs1"
    "1MbrCJWdl9pGcZxvZDLucEOALsoknDHubR1DHXyOwTkReqa3H26+P7bjbVmojscs8jndvMYECvf7ySm70LjTsRsOoQ6VlelZ1A+U"
    "pTXM83mp65X7cNFi0p5c3OecaFxulVy0sBmbLWe5DLYSWexHRJFhWvRUL+lE+L+JYvKejiLOCSnwMnUJ9Aw15SYRg8gtUBrQ/mrd"
    "peeUgRKlVAAj1AiRX/8HJ08owNBdZnQ1A1MdUamelr0o+VpvojKuUfzXfwEbWKIA"
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
