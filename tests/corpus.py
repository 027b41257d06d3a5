"""A small news corpus with known duplicates, built from the seed article by tests themselves."""

from __future__ import annotations

from pathlib import Path

from dedup.normalize import NormalizeConfig, clean

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_ec95721e910ce05b.txt"

# Two different articles on the seed's topic (Trump's visit to Japan), sharing its names and
# vocabulary but not its text: a dedup tool must keep both.
OTHER_ARTICLES = [
    [
        "President Donald Trump arrived in Tokyo on Monday for a two-day visit, his first since Sanae "
        "Takaichi became Japan's prime minister, as both governments sought to steady a trade relationship "
        "strained by tariffs.",
        "Takaichi, who took office last week, is expected to press Trump on the timetable for the $550 "
        "billion investment package that Japan agreed to as part of a tariff deal earlier this year.",
        "Officials in Tokyo said the two leaders would also discuss defense spending, the supply of rare "
        "earth metals and security in the region.",
        "Trump told reporters aboard Air Force One that he expected a productive visit and praised Shinzo "
        "Abe, the late prime minister, as a close friend.",
        "The president is scheduled to travel on to South Korea later in the week for a regional summit.",
    ],
    [
        "Japanese business leaders reacted cautiously on Wednesday to the agreements signed during President "
        "Donald Trump's visit to Tokyo, saying the documents left key questions about investment unanswered.",
        "Executives at several large manufacturers said they were still waiting for details on how the $550 "
        "billion pledge would be divided between loans, guarantees and direct investment.",
        "Toyota declined to comment on reports that it would expand production at plants in the United "
        "States, while shares of Japanese defense companies rose in Tokyo trading.",
        "Economists said Prime Minister Sanae Takaichi had bought time with Washington but faced pressure at "
        "home over the cost of the trade deal and rising prices.",
        "Analysts expect further talks between trade officials in the coming months.",
    ],
]


def seed_paragraphs() -> list[str]:
    """The seed article's 28 cleaned paragraphs."""
    return clean(SEED.read_text(encoding="utf-8").splitlines()[0], NormalizeConfig())


def restyle_quotes(text: str) -> str:
    """Curly quotes and apostrophes to straight ones."""
    return text.replace("“", '"').replace("”", '"').replace("’", "'").replace("‘", "'")


def edited_copies() -> dict[str, list[str]]:
    """Edited copies of the seed article, by id."""
    base = seed_paragraphs()
    dropped = base[:9] + base[10:]
    changed = list(base)
    for k in (3, 7, 12, 16, 20, 25):  # one word swapped in each of six paragraphs
        words = changed[k].split()
        words[len(words) // 2] = "reportedly"
        changed[k] = " ".join(words)
    changed[20] += " Officials declined to comment."
    combined = [restyle_quotes(p) for p in changed[:9] + changed[10:17] + changed[18:]]
    return {
        "paragraph-dropped": dropped,
        "words-changed": changed,
        "all-three-edits": combined,
        "quotes-restyled": [restyle_quotes(p) for p in base],
    }


def news_rows() -> list[dict[str, str]]:
    """The corpus as JSONL rows: the original, its copies, and the two other articles."""
    rows = [
        {"id": "original", "text": "".join(f"<p>{p}</p>" for p in seed_paragraphs()), "date": "2025-10-28"}
    ]
    dates = iter(["2025-10-29", "2025-10-30", "2025-10-31", "2025-11-01"])
    for rid, paragraphs in edited_copies().items():
        rows.append({"id": rid, "text": "".join(f"<p>{p}</p>" for p in paragraphs), "date": next(dates)})
    for k, paragraphs in enumerate(OTHER_ARTICLES):
        rows.append({"id": f"other-{k}", "text": "\n\n".join(paragraphs), "date": "2025-10-27"})
    return rows
