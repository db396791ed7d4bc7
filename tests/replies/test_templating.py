import pytest
from jinja2.exceptions import SecurityError

from caredesk.replies.templating import (
    RenderContext,
    RenderFailed,
    check_template,
    render,
    render_unchecked,
)


def _ctx(**over):
    base = {
        "customer_name": "Nina Holm",
        "agent_name": "Amira Haddad",
        "reference": "ACME-42",
        "kb_url": lambda slug: {"refunds": "https://help.acme.test/refunds"}.get(slug),
    }
    base.update(over)
    return RenderContext(**base)


def test_placeholders_are_filled_in():
    text = render(
        "Hi {{ customer.first_name }}, see {{ kb('refunds') }} (ref {{ conversation.reference }})"
        " – {{ agent.first_name | upper }}",
        _ctx(),
    )
    assert text == "Hi Nina, see https://help.acme.test/refunds (ref ACME-42) – AMIRA"


def test_unknown_placeholder_is_reported_with_its_position():
    source = "Hi {{ customer.email }}!"
    problems = check_template(source).problems
    assert [p.code for p in problems] == ["unknown_placeholder"]
    assert problems[0].span == (3, source.index("}}") + 2)
    assert "customer.first_name" in problems[0].message  # says what is allowed


@pytest.mark.parametrize(
    "source",
    [
        "Hi {{ customer.first_name",  # unclosed
        "Hi }} there",  # stray closer
        "{{ customer.first_name + }}",  # bad expression
    ],
)
def test_syntax_errors_are_found_at_save_time(source):
    problems = check_template(source).problems
    assert problems and all(p.severity == "error" for p in problems)
    assert {p.code for p in problems} <= {"template_syntax", "unknown_placeholder"}


@pytest.mark.parametrize(
    "source",
    [
        "{% for x in range(10) %}x{% endfor %}",
        "{{ ''.__class__.__mro__ }}",
        "{{ customer.__class__ }}",
        "{{ customer.first_name.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ kb(customer.name) }}",
        "{{ customer.first_name | attr('__class__') }}",
    ],
)
def test_code_is_refused_at_save_time(source):
    assert any(p.severity == "error" for p in check_template(source).problems)


def test_sandbox_blocks_code_even_without_the_check():
    with pytest.raises(SecurityError):
        render_unchecked("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_render_of_a_template_with_code_fails_cleanly():
    with pytest.raises(RenderFailed):
        render("{{ ''.__class__.__mro__[1].__subclasses__() }}", _ctx())


def test_missing_article_fails_render():
    with pytest.raises(RenderFailed, match="nope"):
        render("{{ kb('nope') }}", _ctx())


def test_plain_text_with_braces_in_words_is_fine():
    assert check_template("Use code SAVE10 {at checkout}").problems == []
