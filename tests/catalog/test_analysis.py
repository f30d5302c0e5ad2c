"""The indexing fast path cuts text exactly as the analyser every query goes through."""

from collections import defaultdict
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from duban_archive.catalog.analysis import index_positions, normalize, words

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
PIECES = ["老旧小区改造", "晋市政办〔2020〕51号", "13710", "ＺＤＧＺ－２０２６", "2017-09-20", "信息督办系统",
          "Excel台账", "a", "，", "。", " ", "国务院办公厅", "12345热线", "x_y", "督查督办", "第123项"]


def grouped(text: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for pos, word, _start, _end in words(text, search=True):
        out[word].append(pos)
    return dict(out)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=12))
def test_index_positions_equal_the_search_mode_words(parts):
    text = normalize("".join(parts))
    assert dict(index_positions(text)) == grouped(text)


def test_index_positions_on_the_seed_documents():
    texts = [normalize(p.read_text("utf-8", "replace")) for p in sorted(SEEDS.glob("*.txt"))]
    assert texts, "the seeds are beside the repository"
    for text in texts:
        got = index_positions(text)
        assert dict(got) == grouped(text)
        assert "13710" in got or "老旧" in got or len(got) > 100  # real text, real words
