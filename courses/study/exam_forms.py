"""Forms of the exam builder. The rules on questions live in exam_building.clean_question; these forms
only turn the text the instructor typed into the service's input."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from classroom.accounts.forms import strip
from classroom.forms import Form, IntegerField, typed
from courses.study.exam_building import SETTINGS

KIND_LABELS = {"single": _l("Single choice"), "multiple": _l("Multiple choice")}
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def option_lines(text: str | None) -> list[str]:
    """One option per non-empty line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def option_numbers(text: str | None) -> list[int]:
    """ "1,3" (or "1 3", "1，3", "１、３") → [1, 3]; ValueError on anything else ("١,٣", "a")."""
    parts = [part for part in _SEPARATORS.split(typed(text)) if part]
    if not parts or not all(part.isascii() and part.isdigit() for part in parts):
        raise ValueError(text)
    return [int(part) for part in parts]


class ExamForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    pass_score = IntegerField(_l("Pass mark (%)"), default=60, validators=[InputRequired(), NumberRange(0, 100)])
    attempt_limit = IntegerField(_l("Attempts allowed"), default=3, validators=[Optional(), NumberRange(1, 100)],
                                 description=_l("Leave empty for no limit."))
    time_limit_minutes = IntegerField(_l("Time limit (minutes)"), validators=[Optional(), NumberRange(1, 600)],
                                      description=_l("Leave empty for no time limit."))
    shuffle = BooleanField(_l("Shuffle the questions and their options for each attempt"), default=True)

    def settings(self) -> dict:
        return {name: self[name].data for name in SETTINGS}


class QuestionForm(Form):
    text = TextAreaField(_l("Question"), validators=[DataRequired(), Length(max=2000)], filters=[strip],
                         render_kw={"rows": 3})
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()))
    points = IntegerField(_l("Points"), default=1, validators=[InputRequired(), NumberRange(1, 100)])
    options = TextAreaField(_l("Options"), validators=[DataRequired(), Length(max=6000)], render_kw={"rows": 6},
                            description=_l("One option per line, 2 to 10 options."))
    correct = StringField(_l("Correct options"), validators=[DataRequired(), Length(max=50)], filters=[strip],
                          description=_l("Their numbers in the list above, for example 2 or 1,3."))

    @classmethod
    def for_question(cls, question):
        """The form, filled in from a saved question (numbers shown from 1)."""
        if question is None:
            return cls()
        return cls(text=question.text, kind=question.kind, points=question.points,
                   options="\n".join(question.options),
                   correct=",".join(str(index + 1) for index in question.correct))

    def validate_correct(self, field) -> None:
        try:
            option_numbers(field.data)
        except ValueError:
            raise ValidationError(_l("Give option numbers separated by commas, for example 1,3.")) from None

    def question_data(self) -> dict:
        return {"text": self.text.data, "kind": self.kind.data, "points": self.points.data,
                "options": option_lines(self.options.data),
                "correct": [number - 1 for number in option_numbers(self.correct.data)]}
