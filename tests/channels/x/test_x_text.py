from caredesk.channels.x import X_MAX_WEIGHTED_LENGTH, x_weighted_length


def test_latin_text_counts_one_per_character():
    assert x_weighted_length("hello world") == 11


def test_danish_letters_count_one():
    assert x_weighted_length("æøå ÆØÅ") == 7


def test_cjk_characters_count_two():
    assert x_weighted_length("你好世界") == 8
    assert x_weighted_length("こんにちは") == 10


def test_indic_and_arabic_scripts_are_in_the_light_range():
    # U+0000-U+10FF weighs 1 in twitter-text v3, which covers Devanagari, Telugu and Urdu.
    assert x_weighted_length("नमस्ते") == len("नमस्ते")
    assert x_weighted_length("తెలుగు") == len("తెలుగు")
    assert x_weighted_length("اردو") == 4


def test_url_counts_twenty_three_whatever_its_length():
    long_url = "https://example.com/" + "a" * 200
    assert x_weighted_length(long_url) == 23
    assert x_weighted_length("see http://t.co/x") == 4 + 23
    assert x_weighted_length("go to acme.com/help now") == 6 + 23 + 4


def test_url_trailing_punctuation_is_not_part_of_the_url():
    assert x_weighted_length("https://acme.com/help.") == 24


def test_emoji_sequences_count_two():
    assert x_weighted_length("👍") == 2
    assert x_weighted_length("👍🏽") == 2  # skin tone modifier
    assert x_weighted_length("👨\u200d👩\u200d👧") == 2  # ZWJ family
    assert x_weighted_length("🇩🇰") == 2  # flag
    assert x_weighted_length("❤️") == 2  # with variation selector
    assert x_weighted_length("1️⃣") == 2  # keycap


def test_copyright_sign_without_emoji_presentation_counts_one():
    assert x_weighted_length("©") == 1


def test_general_punctuation_quotes_count_one():
    assert x_weighted_length("\u201cok\u201d \u2014") == 6


def test_text_is_nfc_normalised_before_counting():
    assert x_weighted_length("e\u0301") == 1


def test_limit_boundary():
    assert x_weighted_length("a" * 280) == X_MAX_WEIGHTED_LENGTH
    assert x_weighted_length("中" * 141) == 282


def test_empty_whitespace_and_huge_input_never_raise():
    assert x_weighted_length("") == 0
    assert x_weighted_length("   \n") == 0
    assert x_weighted_length("\ud800 broken surrogate") > 0
    assert x_weighted_length("x" * 1_000_000) == 1_000_000
