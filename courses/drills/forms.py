"""Forms of the question banks: the rules live in courses.drills.content and banks; these forms only turn
what was typed into the services' input (the answer in the import file's own syntax)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from classroom.accounts.forms import strip
from classroom.accounts.models import SKILL_LEVELS
from classroom.forms import Form, IntegerField, typed
from courses.drills import question_file
from courses.drills.content import DIFFICULTY_LABELS, KIND_LABELS, LETTERS


def optional_int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class BankForm(Form):
    union_id = SelectField(_l("Owning union"), coerce=optional_int, validate_choice=True)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    trade = StringField(_l("Trade"), validators=[Optional(), Length(max=50)], filters=[strip])
    skill_level = SelectField(_l("Skill level"), coerce=optional_int,
                              choices=[("", _l("Any level")), *((str(k), v) for k, v in SKILL_LEVELS.items())])
    daily_size = IntegerField(_l("Daily practice: questions a day"), default=5,
                              validators=[Optional(), NumberRange(1, 50)])

    def data_dict(self) -> dict[str, Any]:
        return {"title": self.title.data, "trade": self.trade.data, "skill_level": self.skill_level.data,
                "daily_size": self.daily_size.data}


class QuestionForm(Form):
    code = StringField(_l("Question code"), validators=[DataRequired(), Length(max=40)], filters=[typed])
    kind = SelectField(_l("Type"), choices=list(KIND_LABELS.items()))
    text = TextAreaField(_l("Question"), validators=[DataRequired(), Length(max=2000)], filters=[strip],
                         render_kw={"rows": 3})
    options = TextAreaField(_l("Options"), validators=[Length(max=3000)], render_kw={"rows": 4},
                            description=_l("Choice questions: one option per line, A to F."))
    answer = StringField(_l("Answer"), validators=[DataRequired(), Length(max=500)], filters=[strip],
                         description=_l("Letters (A or AC), 对 or 错, or for blanks the accepted texts: "
                                        "alternatives separated by |, blanks by ;"))
    explanation = TextAreaField(_l("Explanation"), validators=[Length(max=2000)], filters=[strip],
                                render_kw={"rows": 3})
    difficulty = SelectField(_l("Difficulty"), coerce=int, choices=list(DIFFICULTY_LABELS.items()), default=2)
    tags = StringField(_l("Knowledge points"), validators=[Length(max=200)], filters=[strip],
                       description=_l("Separated by commas, at most 5."))
    image = FileField(_l("Image (optional)"), description=_l("PNG, JPEG, GIF or WebP, shown with the question."),
                      render_kw={"accept": ".png,.jpg,.jpeg,.gif,.webp"})
    image_alt = StringField(_l("What the image shows"), validators=[Length(max=200)], filters=[strip],
                            description=_l("Read aloud to people who cannot see it."))
    remove_image = BooleanField(_l("Remove the image"))

    @classmethod
    def for_version(cls, question: Any, version: Any) -> QuestionForm:
        if version is None:
            return cls()
        row = question_file.export_row(question, version)
        return cls(code=question.code, kind=version.kind, text=version.text, options="\n".join(version.options),
                   answer=row[len(LETTERS) + 3], explanation=version.explanation, difficulty=version.difficulty,
                   tags=", ".join(version.tags), image_alt=version.image_alt)

    def image_upload(self) -> tuple[str | None, Any] | None:
        """(file name, stream) of an image sent with the question, if one was."""
        upload = self.image.data
        return (upload.filename, upload.stream) if upload and getattr(upload, "filename", "") else None

    def question_data(self) -> dict[str, Any]:
        kind = self.kind.data
        cells = {"code": self.code.data or "", "kind": kind or "", "text": self.text.data or "",
                 "answer": self.answer.data or "", "explanation": self.explanation.data or "",
                 "difficulty": str(self.difficulty.data), "tags": self.tags.data or ""}
        lines = [line.strip() for line in (self.options.data or "").splitlines() if line.strip()]
        cells |= {f"option_{letter}": text for letter, text in zip(LETTERS, lines, strict=False)}
        data = question_file.row_content(cells)
        if len(lines) > len(LETTERS):
            data["options"] = lines  # too many: the check refuses them
        data["image_alt"] = self.image_alt.data or ""
        if self.remove_image.data:
            data["image_key"] = None
        return data


class ImportForm(Form):
    file = FileField(_l("Question file (XLSX or CSV)"), validators=[FileRequired()])


class ConfirmForm(Form):
    pass


KIND_WORDS = {"single": "single", "单选": "single", "multiple": "multiple", "多选": "multiple",
              "true_false": "true_false", "判断": "true_false", "blank": "blank", "填空": "blank"}


def blueprint_rules(text: str | None) -> list[dict[str, Any]]:
    """One rule a line: "type, count[, points[, difficulty 1-3 or *[, tag]]]"; ValueError on a bad line."""
    rules = []
    for line in (text or "").splitlines():
        parts = [part.strip() for part in typed(line).replace("，", ",").split(",")]
        if not any(parts):
            continue
        parts += [""] * (5 - len(parts))
        kind, count, points, difficulty, tag = parts[:5]
        if kind.lower() not in KIND_WORDS or not count.isdigit() or not 0 < int(count) <= 200 or len(parts) > 5:
            raise ValueError(line)
        if (points and not (points.isdigit() and 0 < int(points) <= 100)) or difficulty not in ("", "*", "1", "2", "3"):
            raise ValueError(line)
        rules.append({"kind": KIND_WORDS[kind.lower()], "count": int(count), "points": int(points or 1),
                      "difficulty": int(difficulty) if difficulty not in ("", "*") else None, "tag": tag[:30] or None})
    return rules


class MockExamForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    minutes = IntegerField(_l("Time allowed (minutes)"), default=60, validators=[InputRequired(), NumberRange(1, 600)])
    pass_score = IntegerField(_l("Pass mark (%)"), default=60, validators=[InputRequired(), NumberRange(0, 100)])
    blueprint = TextAreaField(_l("Blueprint"), validators=[DataRequired(), Length(max=3000)], render_kw={"rows": 5},
                              description=_l("One rule a line: type, how many, points each, difficulty (1–3 or *), "
                                             "knowledge point. For example: single, 20, 1, *, 安全用电"))

    def validate_blueprint(self, field) -> None:
        try:
            self.rules = blueprint_rules(field.data)
        except ValueError as error:
            raise ValidationError(_l("This line is not a rule: %(line)s", line=str(error))) from None

    def exam_data(self) -> dict[str, Any]:
        return {"title": self.title.data, "minutes": self.minutes.data, "pass_score": self.pass_score.data,
                "blueprint": self.rules}


class RoundForm(MockExamForm):
    bank_id = SelectField(_l("Question bank"), coerce=optional_int, validate_choice=True)
