"""`dedup.Index` at paragraph granularity, on both backends: which paragraphs are known, and where from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dedup import Index, IndexMismatchError, config_from_dict
from dedup.index.paragraphs import KnownParagraph
from dedup.index.redis_store import RedisStore
from tests.conftest import article

A = article(41, paragraphs=4, words=40)
B = article(42, paragraphs=3, words=40)
FOOTER = article(43, paragraphs=1, words=40)[0]


def _open(target: tuple[str, dict[str, Any]], **more: Any) -> Index:
    where, data = target
    return Index.open(where, config_from_dict({**data, "granularity": "paragraph", **more}))


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def test_the_known_paragraphs_of_a_record_and_where_they_come_from(
    target: tuple[str, dict[str, Any]],
) -> None:
    edited = A[2].split()
    edited[10] = "altered"
    near = " ".join(edited)
    piece = " ".join(B[1].split()[:30])
    x, y = _shingles(near), _shingles(A[2])
    assert len(x & y) / len(x | y) >= 0.8  # the oracle: a near-duplicate paragraph
    with _open(target) as index:
        index.add([("a", "\n\n".join(A)), ("b", "\n\n".join([*B, FOOTER]))])
        own = article(44, paragraphs=1, words=40)
        (match,) = index.check([("new", "\n\n".join([*own, A[0], near, piece, "Thanks.", FOOTER]))])
        assert match.status == "new"
        assert match.paragraphs == (
            KnownParagraph(1, "a", 0, 1.0, "exact"),
            KnownParagraph(2, "a", 2, match.paragraphs[1].similarity, "jaccard"),
            KnownParagraph(3, "b", 1, match.paragraphs[2].similarity, "containment"),
            KnownParagraph(5, "b", 3, 1.0, "exact"),
        )
        assert 0.8 <= match.paragraphs[1].similarity < 1.0
        (unrelated,) = index.check([("other", "\n\n".join(article(45, 2, 40)))])
        assert unrelated.status == "new" and unrelated.paragraphs == ()
        (present,) = index.check([("a", "\n\n".join(A))])
        assert present.status == "present" and present.paragraphs == ()


def test_a_record_inside_an_indexed_one_is_found_whatever_its_length(
    target: tuple[str, dict[str, Any]],
) -> None:
    cut = A[0]  # a quarter of the record
    with _open(target) as index:
        index.add([("a", "\n\n".join(A))])
        (match,) = index.check([("cut", cut)])
        assert (match.status, match.duplicate_of, match.matched_by) == ("near", "a", "containment")
        assert match.containment == 1.0
    where, data = target
    with Index.open(
        f"{where}-document" if "://" not in where else where,
        config_from_dict(
            {**data, "index": {"name": f"{data.get('index', {}).get('name', 'dedup')}-document"}}
        ),
    ) as document:
        document.add([("a", "\n\n".join(A))])
        assert document.check([("cut", cut)])[0].status == "new"  # the bands miss it


def test_within_one_batch_and_after_removal(target: tuple[str, dict[str, Any]]) -> None:
    with _open(target) as index:
        first = "\n\n".join([*article(46, 2, 40), FOOTER])
        second = "\n\n".join([*article(47, 2, 40), FOOTER])
        cut = A[1]
        matches = index.check_and_add([("one", first), ("two", second), ("a", "\n\n".join(A)), ("cut", cut)])
        assert [m.status for m in matches] == ["new", "new", "new", "near"]
        assert matches[1].paragraphs == (KnownParagraph(2, "one", 2, 1.0, "exact"),)
        assert matches[3].duplicate_of == "a" and matches[3].paragraphs == (
            KnownParagraph(0, "a", 1, 1.0, "exact"),
        )
        assert index.remove(["one"]) == 1
        (again,) = index.check([("three", "\n\n".join([*article(48, 1, 40), FOOTER]))])
        assert again.paragraphs == (KnownParagraph(1, "two", 2, 1.0, "exact"),)
        index.remove(["two", "a"])
        (gone,) = index.check([("three", "\n\n".join([*article(48, 1, 40), FOOTER]))])
        assert gone.paragraphs == ()
        assert index.paragraphs is not None and index.paragraphs.store.count() == 0


def test_an_index_keeps_the_granularity_it_was_built_with(target: tuple[str, dict[str, Any]]) -> None:
    where, data = target
    with Index.open(where, config_from_dict(data)) as index:
        index.add([("a", "\n\n".join(A))])
    with pytest.raises(
        IndexMismatchError, match="granularity None \\(this config: 'paragraph min_words=4'\\)"
    ):
        _open(target)


def test_a_paragraph_index_opened_for_documents_names_the_granularity(
    target: tuple[str, dict[str, Any]],
) -> None:
    where, data = target
    with _open(target) as index:
        index.add([("a", "\n\n".join(A))])
    with pytest.raises(
        IndexMismatchError, match="granularity 'paragraph min_words=4' \\(this config: None\\)"
    ):
        Index.open(where, config_from_dict(data))


def test_a_paragraph_index_whose_paragraph_store_is_gone_is_refused(
    target: tuple[str, dict[str, Any]],
) -> None:
    # Without its paragraph store an index would call every known paragraph new: refuse it, create
    # nothing, whatever `create` says.
    where, data = target
    with _open(target) as index:
        index.add([("a", "\n\n".join(A))])
        assert index.paragraphs is not None
        store = index.paragraphs.store
        if isinstance(store, RedisStore):
            store.clear()
    if not isinstance(store, RedisStore):
        for file in Path(where).parent.glob("*.paragraphs.*"):
            file.unlink()
    config = config_from_dict({**data, "granularity": "paragraph"})
    for create in (False, True):
        with pytest.raises(IndexMismatchError, match=r"its paragraph store \(.+\) is missing"):
            Index.open(where, config, create=create)
    assert not list(Path(where).parent.glob("*.paragraphs.*")), "nothing is created"


def test_a_paragraph_store_left_from_an_index_that_is_gone_is_not_adopted(
    target: tuple[str, dict[str, Any]],
) -> None:
    # The records' store is gone but the paragraph store stayed: a new index there would report
    # paragraphs of records it does not hold. It is refused before anything is written.
    where, data = target
    with _open(target) as index:
        index.add([("z", "\n\n".join(A))])
        records = index.store
        if isinstance(records, RedisStore):  # the records' keys only, not the paragraph store's
            for key in list(records.client.scan_iter(match=f"{records.ns}:*")):
                if not key.decode().startswith(f"{records.ns}:paragraphs:"):
                    records.client.delete(key)
    if not isinstance(records, RedisStore):
        Path(where).unlink()
    with pytest.raises(IndexMismatchError, match=r"paragraph store \(.+\) holds \d+ entries, left from"):
        _open(target)
    config = config_from_dict({**data, "granularity": "paragraph"})
    with pytest.raises(IndexMismatchError, match="no index there"):
        Index.open(where, config, create=False)
    if not isinstance(records, RedisStore):
        assert not Path(where).exists(), "nothing is created"
    else:
        with pytest.raises(IndexMismatchError, match="no index there"):
            Index.open(where, config_from_dict(data), create=False)


def test_stats_count_the_paragraph_store_too(target: tuple[str, dict[str, Any]]) -> None:
    with _open(target) as index:
        index.add([("a", "\n\n".join(A)), ("b", "\n\n".join(B))])
        assert index.paragraphs is not None
        parts = index.store.nbytes() + index.paragraphs.store.nbytes()
        assert index.paragraphs.store.nbytes() > 0 and index.stats()["bytes"] == parts
