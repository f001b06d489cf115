"""What a lead types into a judge (parameters, templates, the form) never crashes the app,
never escapes the template sandbox and never leaves half a judge behind."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.errors import DomainError
from annotations.judges import services
from annotations.judges.models import JudgeConfig, JudgeRun
from annotations.judges.services import JudgeSpec, Selection
from annotations.models import Rater
from annotations.services import items_import
from tests.factories import PREFERENCE, pair, write_jsonl

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


PARAMETER_NAMES = ["temperature", "max_tokens", "samples", "seed", "stop", "both_orders", "top_p"]


@given(st.dictionaries(st.sampled_from([*PARAMETER_NAMES, "x"]), json_values))
def test_parameters_are_clean_or_refused_by_name(parameters):
    try:
        cleaned = services.parameters_clean(parameters)
    except DomainError as exc:
        assert "arameter" in exc.message
    else:
        assert set(cleaned) <= services.REQUEST_PARAMETERS | services.RUN_PARAMETERS


@pytest.fixture
def study(project, tmp_path):
    lines = [PREFERENCE] + [pair(f"q{i}") for i in range(2)]
    items_import(project=project, paths=[write_jsonl(tmp_path / "p.jsonl", lines)])
    return project


def preview(project, text: str):
    spec = JudgeSpec("t", "openai", "m", "mtbench-pair", "g", template_text=text)
    return services.judge_preview(
        project=project,
        spec=spec,
        criterion=project.criteria.get(),
        selection=Selection(),
        user=None,
    )


@pytest.mark.django_db
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("{}%#()[]|.'\"_ abcxyz0123456789")), max_size=40))
def test_any_template_text_renders_or_is_refused_with_a_message(study, text):
    try:
        estimate = preview(study, text)
    except DomainError as exc:
        assert exc.message
    else:
        assert estimate.n_requests == 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ question.__class__.__init__.__globals__ }}",
        "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    ],
)
def test_the_template_sandbox_refuses_python_internals(study, text):
    with pytest.raises(DomainError, match="does not render"):
        preview(study, text)


@pytest.mark.django_db
def test_a_misspelt_variable_is_an_error_not_an_empty_prompt(study):
    with pytest.raises(DomainError, match="'questoin' is undefined"):
        preview(study, "{{ questoin }}")


form_fields = st.fixed_dictionaries(
    {
        "provider": st.sampled_from(["openai", "anthropic", "checker", "x", ""]),
        "model": st.text(max_size=30),
        "base_url": st.sampled_from(["", "http://127.0.0.1:9/v1", "file:///etc/passwd", "\x00"]),
        "template": st.sampled_from(["mtbench-pair", "rubric", "answer-check", "nope"]),
        "template_text": st.text(max_size=60),
        "temperature": st.sampled_from(["0", "-1", "3", "nan", "inf", "x", ""]),
        "samples": st.sampled_from(["1", "0", "21", "1e9", ""]),
        "concurrency": st.sampled_from(["1", "0", "65", "-3", ""]),
        "group": st.text(max_size=70),
        "criterion": st.sampled_from(["preference", "nope", ""]),
        "meta_key": st.text(max_size=20),
        "meta_value": st.text(max_size=20),
        "ids": st.text(max_size=30),
        "limit": st.sampled_from(["", "1", "0", "-5", "99999999999999999999"]),
        "cost_cap": st.sampled_from(["", "0", "-1", "1e400", "0.5", "nan"]),
        "action": st.sampled_from(["preview", "run"]),
    }
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=form_fields)
def test_the_judge_form_answers_every_input_without_an_error_page(client, lead, study, data):
    client.force_login(lead)
    configs, raters = JudgeConfig.objects.count(), Rater.objects.count()
    response = client.post(reverse("annotations:judges:list", args=[study.slug]), data)
    assert response.status_code in (200, 302, 400)
    if response.status_code != 302:  # refused or previewed: nothing was written
        assert (JudgeConfig.objects.count(), Rater.objects.count()) == (configs, raters)
    assert not JudgeRun.objects.exclude(status__in=["done", "failed", "cancelled"]).exists()
