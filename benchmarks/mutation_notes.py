"""Why each mutant that `benchmarks/mutation.py` reports as surviving is left.

Keyed by mutant name; each note holds a piece of the mutated line (so that a note which no longer
fits its mutant, after the code moved, is flagged in the report) and the reason: an *equivalent*
mutant (no input can tell it from the original), or what is left and why.
"""

from __future__ import annotations

NOTES: dict[str, tuple[str, str]] = {}
#: Function -> (snippet, reason): for every survivor of that function whose mutated line holds the snippet.
BY_FUNCTION: dict[str, list[tuple[str, str]]] = {}

_DTYPE = (
    "equivalent: numpy infers the same dtype here (float64 for float arithmetic and `np.empty`/`np.ones`, "
    "int64 for Python ints), or the array is never read with another"
)
_WORKERS = "equivalent: a thread count; results do not depend on it (tests/test_kernels.py holds that)"
_CHUNK = "equivalent: a chunk size; the result is the same for any chunking, only memory differs"
_UNREACHED = "equivalent: the value is never read on the path where it is set"
_MESSAGE_ONLY = (
    "equivalent: the field name only goes into an error message that cannot be raised here (the values "
    "are all numbers or None)"
)


def _note(names: str, snippet: str, reason: str) -> None:
    for name in names.split():
        NOTES[name] = (snippet, reason)


def _each(function: str, snippet: str, reason: str) -> None:
    BY_FUNCTION.setdefault(function, []).append((snippet, reason))


# dedup/lsh.py ----------------------------------------------------------------------------------
_note(
    "dedup.lsh.x_candidate_probability__mutmut_3 dedup.lsh.x_candidate_probability__mutmut_5",
    "np.asarray(similarity",
    _DTYPE,
)
_note(
    "dedup.lsh.x_candidate_probability__mutmut_7 dedup.lsh.x_candidate_probability__mutmut_9",
    "** bands",
    _DTYPE,
)
_note(
    "dedup.lsh.x_estimate_pairs__mutmut_3 dedup.lsh.x_estimate_pairs__mutmut_5", "np.empty(len(pairs)", _DTYPE
)
_note(
    "dedup.lsh.x_estimate_pairs__mutmut_11 dedup.lsh.x_estimate_pairs__mutmut_13 dedup.lsh.x_estimate_pairs__mutmut_18",
    "step = max(",
    _CHUNK,
)
_note("dedup.lsh.x_estimate_pairs__mutmut_25", "range(0, len(pairs), )", _CHUNK + " (one pair at a time)")
_note("dedup.lsh.x_exact_overlaps__mutmut_1 dedup.lsh.x_verify__mutmut_1", "workers: int = 2", _WORKERS)
_note("dedup.lsh.x_exact_overlaps__mutmut_17 dedup.lsh.x_verify__mutmut_39", "pairs, )", _WORKERS)
_note("dedup.lsh.xǁVerdictǁempty__mutmut_3 dedup.lsh.xǁVerdictǁempty__mutmut_5", "none = np.empty(0", _DTYPE)
_note("dedup.lsh.x_verify__mutmut_17", "small = None", _UNREACHED + " (sizes are read only when counted)")
_note(
    "dedup.lsh.x_verify__mutmut_19 dedup.lsh.x_verify__mutmut_21",
    "small = np.zeros(m,",
    _UNREACHED + " (sizes are read only when counted)",
)
_note("dedup.lsh.x_verify__mutmut_84", "astype(None)", _DTYPE)
_note("dedup.lsh.x_verify__mutmut_96", "common.astype(None)", _DTYPE)

# dedup/cluster.py ------------------------------------------------------------------------------
_note(
    "dedup.cluster.x_position_rank__mutmut_6 dedup.cluster.x_position_rank__mutmut_8",
    '"f": pa.array(files,',
    "equivalent: Arrow infers string from Python strings (and null for no records, which sorts the same)",
)
_note(
    "dedup.cluster.x_position_rank__mutmut_12 dedup.cluster.x_position_rank__mutmut_14",
    '"l": pa.array(lines,',
    "equivalent: Arrow infers int64 from Python ints",
)
_note(
    "dedup.cluster.x_position_rank__mutmut_18 dedup.cluster.x_position_rank__mutmut_20",
    '"i": pa.array(ids,',
    "equivalent: Arrow infers string from Python strings",
)
_note(
    "dedup.cluster.x_value_rank__mutmut_18 dedup.cluster.x_value_rank__mutmut_20", "for v in values]", _DTYPE
)
_note("dedup.cluster.x_number_rank__mutmut_31", "value_rank(numbers, None)", _MESSAGE_ONLY)
_note("dedup.cluster.x_time_rank__mutmut_13", "value_rank(values, None)", _MESSAGE_ONLY)
_note("dedup.cluster.x_time_rank__mutmut_49", "value_rank(points, None)", _MESSAGE_ONLY)
_note(
    "dedup.cluster.x__scalar__mutmut_4",
    "'XX\"-0123456789XX'",
    "equivalent: a value opening with `X` is not JSON either, so it is returned as it is on both paths",
)
_note(
    "dedup.cluster.x__scalar__mutmut_8 dedup.cluster.x__scalar__mutmut_9",
    "else value",
    "equivalent: text opening with a quote, a minus or a digit decodes only to a string or a number, never "
    "to a boolean, a list or null",
)
_each("dedup.cluster.x__best_arc", "via = np.full(n, -1, ", _DTYPE)
_each(
    "dedup.cluster.x__best_arc",
    "via = np.full(n, -2",
    "equivalent: only `via >= 0` is read, so any negative fill means 'no arc'",
)

# dedup/io/work.py ------------------------------------------------------------------------------
_note(
    "dedup.io.work.xǁWorkDirǁstaged__mutmut_2",
    "typing.cast(None",
    "equivalent: `typing.cast` does nothing at run time",
)
_note(
    "dedup.io.work.xǁWorkDirǁstaged__mutmut_7 dedup.io.work.xǁWorkDirǁstaged__mutmut_12",
    "read_text(",
    "equivalent: the marker is ASCII JSON (`json.dumps` escapes the rest), read the same in any encoding name",
)
for _snippet in ("np.ones(len(edges), dtype=None)", "np.ones(len(edges), )"):
    _each(
        "dedup.cluster.x_connect",
        _snippet,
        "equivalent: the graph's edge weights only need to be non-zero; their dtype does not change the "
        "components",
    )
for _snippet in ("directed=None)", "connected_components(graph, )", "directed=True)"):
    _each(
        "dedup.cluster.x_connect",
        _snippet,
        "equivalent: as a directed graph, scipy's default is weakly connected components, the same labels "
        "as the undirected graph",
    )
for _snippet in ("np.arange(n, dtype=None)", "np.arange(n, )"):
    _each("dedup.cluster.x_connect", _snippet, _DTYPE)
_note(
    "dedup.cluster.x_rank__mutmut_12 dedup.cluster.x_rank__mutmut_14 "
    "dedup.cluster.x_position_rank__mutmut_46 dedup.cluster.x_position_rank__mutmut_48",
    "np.arange(len(order),",
    "equivalent: assigned into an int64 array, and `np.arange` of an int is int64 anyway",
)
_note(
    "dedup.cluster.x_settle__mutmut_6 dedup.cluster.x_settle__mutmut_9 dedup.cluster.x_settle__mutmut_15 "
    "dedup.cluster.x_settle__mutmut_18",
    "np.full(n, -1",
    "equivalent: numpy infers int64 from the fill value -1",
)
_note(
    "dedup.io.work.xǁWorkDirǁsave_global__mutmut_8 dedup.io.work.xǁWorkDirǁsave_global__mutmut_10 "
    "dedup.io.work.xǁWorkDirǁsave_global__mutmut_12",
    "np.savez(handle",
    "equivalent: the arrays saved are numeric, so whether object arrays may be pickled never comes into play "
    "(reading refuses pickles either way: `np.load(allow_pickle=False)`)",
)
_RENAMED_LABEL = (
    "equivalent: a label inside the hashed JSON; keys are only ever compared with keys the same code made, "
    "so renaming it changes every key alike (a checkpoint of another release is then not reused: a rerun, "
    "never a wrong output)"
)
_note("dedup.io.work.x_run_key__mutmut_2", '"XXsettingsXX"', _RENAMED_LABEL)
_note("dedup.io.work.x_run_key__mutmut_3", '"SETTINGS"', _RENAMED_LABEL)

# dedup/engines/local.py, dedup/exact.py ---------------------------------------------------------
_each(
    "dedup.engines.local.x__settings",
    "data.pop(key, )",
    "equivalent: `to_dict` always holds the keys popped, so the default of `pop` is never used",
)
_each(
    "dedup.engines.local.x__settings",
    'version("DEDUP")',
    "equivalent: `importlib.metadata` normalizes distribution names (PEP 503), so `DEDUP` finds the same "
    "version",
)

# dedup/report.py -------------------------------------------------------------------------------
_each(
    "dedup.report.xǁReportǁsummary",
    'get("emptied", ',
    "equivalent: a missing count read as None is falsy like 0, and the clause is written only when it is not",
)
_note(
    "dedup.exact.x_groups__mutmut_26 dedup.exact.x_groups__mutmut_28",
    "inverse.reshape(",
    "equivalent on the numpy measured (2.4): `np.unique(axis=0, return_inverse=True)` already returns "
    "the inverse 1-D, and numpy reads any negative size as 'the rest' and `None` as 'unchanged'; the "
    "`reshape(-1)` guards numpy 2.0.0, whose inverse had the input's shape",
)
_note(
    "dedup.exact.x_digest__mutmut_25",
    "reshape(-2, 2)",
    "equivalent on the numpy measured (2.4): numpy reads any negative size as 'the rest'",
)

# dedup/cluster.py: settle ----------------------------------------------------------------------
_NAN_FILL = (
    "equivalent: shares are NaN for every pair or for none (NaN only under `verify: estimate` without "
    "shingle sets), so the fill value never decides between two pairs; `nan=0.0` is numpy's default"
)
_note("dedup.cluster.x_settle__mutmut_70", "verdict.share_b), )", _NAN_FILL)
_note("dedup.cluster.x_settle__mutmut_58", "verdict.share_a), )", _NAN_FILL)
_note("dedup.cluster.x_settle__mutmut_65 dedup.cluster.x_settle__mutmut_77", "nan=1.0", _NAN_FILL)
_note(
    "dedup.cluster.x_settle__mutmut_82 dedup.cluster.x_settle__mutmut_84",
    "np.asarray(verdict.jaccard,",
    "equivalent: `Verdict.jaccard` is float64 already",
)
_note(
    "dedup.cluster.x_settle__mutmut_93",
    "np.where(directed, 5.0, 2.0)",
    "equivalent: the tiers only need gaps wider than a Jaccard (at most 1); 5 widens the gap above 2",
)
_note(
    "dedup.cluster.x_settle__mutmut_101",
    "np.where(directed, 1.0, 2.0)",
    "equivalent: with tiers 1 and 2 a held record (1 + Jaccard) ties a both-ways duplicate (2 + Jaccard) "
    "only at Jaccard 1 against 0; a pair one way inside at Jaccard 1 has equal sets, so it is inside both "
    "ways (mutual), and a both-ways pair is verified at a Jaccard of at least the threshold, above 0",
)
_note(
    "dedup.cluster.x_settle__mutmut_139 dedup.cluster.x_settle__mutmut_141",
    "local = np.empty(len(nodes)",
    "equivalent: `kernels.settle` converts every array to int64 before the kernel (`_c`), and the ranks "
    "are small integers, exact in float64",
)
_note(
    "dedup.cluster.x_settle__mutmut_144 dedup.cluster.x_settle__mutmut_146",
    "np.argsort(rank[nodes],",
    "equivalent: ranks are a permutation (all different), so every sort kind gives the same order",
)
_note(
    "dedup.cluster.x_settle__mutmut_148", 'kind="STABLE"', "equivalent: numpy reads the sort kind in any case"
)
_note(
    "dedup.cluster.x_settle__mutmut_150 dedup.cluster.x_settle__mutmut_152",
    "np.arange(len(nodes),",
    "equivalent: `np.arange` of an int is int64 anyway",
)
_note(
    "dedup.cluster.x_settle__mutmut_168 dedup.cluster.x_settle__mutmut_173",
    ".astype(None)",
    "equivalent: `kernels.settle` converts every array to int64 before the kernel (`_c`), and record "
    "positions are small integers, exact in float64",
)

# dedup/lsh.py: band; dedup/io/work.py: describe, markers ----------------------------------------
_note(
    "dedup.lsh.x_band__mutmut_1",
    "bands / rows",
    "equivalent: `kernels.band_keys` makes the same check with the same message before the kernel runs",
)
_note(
    "dedup.io.work.x_describe__mutmut_11",
    "handle.read(None)",
    "equivalent for every output: the file is digested in one read instead of blocks, the same xxh3; "
    "only the memory it takes differs (left: no test measures memory)",
)
_note(
    "dedup.io.work.xǁWorkDirǁshard_meta__mutmut_10",
    "typing.cast(None",
    "equivalent: `typing.cast` does nothing at run time",
)
_note(
    "dedup.io.work.xǁWorkDirǁshard_meta__mutmut_15 dedup.io.work.xǁWorkDirǁshard_meta__mutmut_17 "
    "dedup.io.work.xǁWorkDirǁload_global__mutmut_3 dedup.io.work.xǁWorkDirǁload_global__mutmut_8",
    "read_text(encoding=",
    "equivalent: the marker is ASCII JSON (`json.dumps` escapes the rest), read the same in any encoding name",
)
_note(
    "dedup.io.work.xǁWorkDirǁload_global__mutmut_21 dedup.io.work.xǁWorkDirǁload_global__mutmut_23",
    "np.load(path,",
    "equivalent: `allow_pickle` is off by default and `None` is false; a pickled checkpoint is refused either "
    "way (`test_a_checkpoint_holding_pickled_objects_is_not_loaded` kills the mutant that turns it on)",
)
_note("dedup.io.work.x_run_key__mutmut_4", '"XXinputsXX"', _RENAMED_LABEL)
_note("dedup.io.work.x_run_key__mutmut_5", '"INPUTS"', _RENAMED_LABEL)
_note(
    "dedup.io.work.x_load_array__mutmut_21 dedup.io.work.x_load_array__mutmut_23",
    "np.prod(shape,",
    "equivalent: numpy's product of Python ints is int64 anyway (and 1.0 for no dimensions, the same count)",
)
_note(
    "dedup.io.work.x_load_array__mutmut_28",
    "pa.memory_map(str(path), )",
    "equivalent: Arrow maps read-only by default",
)
_note(
    "dedup.io.work.x_load_array__mutmut_39",
    "np.frombuffer(mapped, dtype=dtype, offset=offset)",
    "equivalent: a `.npy` file ends with its data, so reading to the end reads the same count",
)
_note(
    "dedup.io.work.x_load_array__mutmut_48 dedup.io.work.x_load_array__mutmut_50",
    "flat.reshape(shape, order=",
    "equivalent: numpy reads the memory order in either case",
)
_note(
    "dedup.io.work.xǁWorkDirǁfile_shards__mutmut_3",
    "read_text(encoding=None)",
    "equivalent: the marker is ASCII JSON (`json.dumps` escapes the rest), read the same in any encoding",
)
_note(
    "dedup.io.work.xǁWorkDirǁfile_shards__mutmut_6",
    'read_text(encoding="UTF-8")',
    "equivalent: the marker is ASCII JSON, and Python reads encoding names in any case",
)
_note(
    "dedup.io.work.x_load_table__mutmut_5",
    "pa.memory_map(str(path), )",
    "equivalent: Arrow maps read-only by default",
)
_note(
    "dedup.io.work.x_load_schema__mutmut_4",
    "pa.OSFile(str(path), )",
    "equivalent: `pa.OSFile` opens for reading by default",
)
_note(
    "dedup.io.work.x_save_array__mutmut_9 dedup.io.work.x_save_array__mutmut_12 dedup.io.work.x_save_array__mutmut_14",
    "np.save(handle, np.ascontiguousarray(array),",
    "equivalent: dedup saves numeric arrays only, which are never pickled whatever `allow_pickle` says "
    "(reading refuses pickles: `test_a_checkpoint_holding_pickled_objects_is_not_loaded`)",
)
_note(
    "dedup.io.work.x_save_json__mutmut_13 dedup.io.work.x_save_json__mutmut_15 dedup.io.work.x_save_json__mutmut_18",
    "write_text(text,",
    "equivalent: `json.dumps` escapes every non-ASCII character, so the text is ASCII in any encoding",
)
_CHECKPOINT_FOLDER = (
    "equivalent: the name of a folder inside a run's own checkpoint folder, written and read by this "
    "code alone; another release keys its checkpoints apart (the version is in the key)"
)
for _n, _s in (
    ("4", "XXshardsXX"),
    ("5", "SHARDS"),
    ("8", "XXfilesXX"),
    ("9", "FILES"),
    ("12", "XXstageXX"),
    ("13", "STAGE"),
):
    _note(f"dedup.io.work.xǁWorkDirǁ__init____mutmut_{_n}", f'"{_s}"', _CHECKPOINT_FOLDER)

# dedup/figures.py ------------------------------------------------------------------------------
_each(
    "dedup.figures.x__number",
    'text.rpartition("/")',
    "equivalent: with one slash both split alike; with two, one side holds a slash, `float` refuses "
    "it and the text is kept as written either way",
)
_each(
    "dedup.figures.x__number",
    'if slash or "/" not in bottom',
    "equivalent: without a slash `float(text)` already failed, and `top` is that text, so `float(top)` "
    "fails too and the text is kept",
)
_each(
    "dedup.figures.x__number",
    '"XX/XX" not in bottom',
    "equivalent: a bottom holding a slash makes `float(bottom)` fail, and the text is kept as written "
    "either way",
)
_each(
    "dedup.figures.xǁStatementǁagrees",
    "low < v <= high",
    "equivalent: a range's ends are among its values, so a value at an end is shared and the pair "
    "agrees by the clause after `or`",
)
_each(
    "dedup.figures.xǁStatementǁagrees",
    "low <= v < high",
    "equivalent: a range's ends are among its values, so a value at an end is shared and the pair "
    "agrees by the clause after `or`",
)
_each(
    "dedup.figures.xǁStatementǁagrees",
    "self.values < other.values or",
    "equivalent: equal sets pass the other test (`other.values <= self.values`)",
)
_each(
    "dedup.figures.xǁStatementǁagrees",
    "or other.values < self.values",
    "equivalent: equal sets pass the first test (`self.values <= other.values`)",
)
_each(
    "dedup.figures.x__mistyped",
    "len(x) <= len(y)",
    "equivalent: the lengths differ by one here, so `<` and `<=` agree",
)
_REDUNDANT_NEIGHBOUR = (
    "equivalent: when dropping `long_[i]` gives the shorter figure and its left neighbour is the same "
    "character, dropping that neighbour gives the same string and the right-neighbour test passes "
    "there, one step earlier; the left-neighbour test never decides"
)
_each("dedup.figures.x__mistyped", "if (i > 1 and long_[i - 1]", _REDUNDANT_NEIGHBOUR)
_each("dedup.figures.x__mistyped", "(i + 2 < len(long_) and long_[i + 1]", _REDUNDANT_NEIGHBOUR)
_each(
    "dedup.figures.x__statements",
    'if i else "XXXX"',
    "equivalent: the word before the first token is only compared with months, `between` and `from`",
)
_each(
    "dedup.figures.x__written",
    "else str(None)",
    "equivalent: a figure written as a word is a number word, whose value is always a float",
)
_each(
    "dedup.figures.x__written",
    "else str(values[1])",
    "equivalent: a figure written as a word is a number word, whose value is always a float",
)
_each(
    "dedup.figures.x__written",
    "or True else",
    "equivalent: a figure written as a word is a number word, whose value is always a float",
)
_each(
    "dedup.figures.x__value",
    "if high <= low and",
    "equivalent: equal ends with a shorter second part mean a leading zero in the first (`010-10`); "
    "the first is then below the scale and the sum gives the same end",
)
_each(
    "dedup.figures.x__value",
    "len(parts[1]) <= len(parts[0])",
    "equivalent: with parts of equal length the first is below the scale, so `low - low % scale` is 0 "
    "and the second end is unchanged",
)
_NO_CLOCK = (
    "equivalent: without a clock time the substitution changes nothing, so the tokens are the words "
    "already found"
)
_each("dedup.figures.x_facts", '":" in paragraph or _CLOCK', _NO_CLOCK)
_each("dedup.figures.x_facts", "if (stamped) or True else", _NO_CLOCK)
_each(
    "dedup.figures.x__value",
    "if high < low or len(",
    "equivalent: when the second end is not below the first, the first is below the scale the "
    "second's length sets, so `low - low % scale + high` is `high` again",
)

# dedup/io/readers.py, dedup/io/fastjson.py, dedup/io/fields.py ------------------------------------
_CODEC = "equivalent: Python looks codec names up in any case (`UTF-8` is `utf-8`)"
_each("dedup.io.readers.x__read_line", 'decode("UTF-8")', _CODEC)
_each("dedup.io.readers.x__read_csv", 'encoding="UTF-8-SIG"', _CODEC)
_each("dedup.io.fields.x__lone_surrogate", 'encode("UTF-8")', _CODEC)
_each(
    "dedup.io.readers.x__read_warc",
    "b.reject(item.offset, item.reason, )",
    "equivalent: `field` defaults to None",
)
_CAST = "equivalent: `typing.cast` returns its value unchanged at run time"
_each("dedup.io.readers.x_open_binary", "typing.cast(None,", _CAST)
_each(
    "dedup.io.readers.x_open_binary",
    "gzip.open(path, )",
    "equivalent: `gzip.open` reads bytes (`rb`) by default",
)
_each(
    "dedup.io.readers.x_open_binary",
    "with open(path, ):",
    "equivalent: the file is only opened to get the OS's own error; text or bytes, none is read",
)
_each(
    "dedup.io.readers.x_open_binary",
    "pa.input_stream(path, )",
    "left: Arrow's default detects compression by extension, so only a `.bz2` or `.lz4` file (not in "
    "dedup's catalogue, read as the bytes it holds) would tell; whether dedup should decompress them "
    "is a feature to decide, not a test to write",
)
_each("dedup.io.readers.x_read_file", '{err.strerror or err}", )', "equivalent: `field` defaults to None")
_each(
    "dedup.io.readers.x_detect_format",
    "handle.read(None)",
    "equivalent: read from four bytes before the end, the rest of the file is those four bytes",
)
_each(
    "dedup.io.readers.x_detect_format",
    "handle.read(5)",
    "equivalent: read from four bytes before the end, at most four bytes come back",
)
_READ1 = "equivalent: every stream dedup reads from (gzip's, Arrow's) has `read1`"
_each("dedup.io.fastjson.x_blocks", 'getattr(stream, "read1", None)', _READ1)
_each("dedup.io.fastjson.x_blocks", 'getattr(stream, "read1", )', _READ1)
_each(
    "dedup.io.fastjson.x_blocks",
    "else len(data) + 1",
    "equivalent: at the end of the stream the whole of `data` is the block either way (slicing past "
    "the end stops at the end)",
)
_each(
    "dedup.io.fastjson.x_blocks",
    "if cut == -2:",
    "equivalent: with no newline held the block is empty, so nothing is yielded and the held bytes "
    "are kept, as `continue` does",
)
_each(
    "dedup.io.fastjson.x_blocks",
    "if (rest) or True else",
    "equivalent: an empty rest is held as one empty piece of length 0",
)
_each(
    "dedup.io.fastjson.x_parse_block",
    'if (block.endswith(b"\\n")) or True else',
    "equivalent: a block not ending in a newline loses a last character that is no newline, so the "
    "count of lines is the same, and a one-character block is refused either way",
)
_BIGGER_BLOCK = "equivalent: the block size stays at least the block's length, all Arrow needs"
_each("dedup.io.fastjson.x_parse_block", "max(1 >> 20,", _BIGGER_BLOCK)
_each("dedup.io.fastjson.x_parse_block", "max(2 << 20,", _BIGGER_BLOCK)
_each("dedup.io.fastjson.x_parse_block", "max(1 << 21,", _BIGGER_BLOCK)
_each("dedup.io.fastjson.x_parse_block", "len(block) + 2)", _BIGGER_BLOCK)
_INFER = "equivalent: `infer` is Arrow's default for fields outside the explicit schema"
_each("dedup.io.fastjson.x_parse_block", "unexpected_field_behavior=None)", _INFER)
_each("dedup.io.fastjson.x_parse_block", "explicit_schema=schema, )", _INFER)
_each("dedup.io.fastjson.x_parse_block", "first_line + n, dtype=None)", _DTYPE)
_each("dedup.io.fastjson.x_parse_block", "first_line + n, )", _DTYPE)
_ARROW_STRING = "equivalent: Arrow infers `string` from Python strings"
_each("dedup.io.fastjson.x_parse_block", "lines.tolist()], None)", _ARROW_STRING)
_each("dedup.io.fastjson.x_parse_block", "lines.tolist()], )", _ARROW_STRING)
_each("dedup.io.fastjson.x_parse_block", "[display] * n, None)", _ARROW_STRING)
_each("dedup.io.fastjson.x_parse_block", "[display] * n, )", _ARROW_STRING)
_each(
    "dedup.io.fastjson.x_parse_block",
    "pa.types.is_string(kind) and pa.types.is_large_string(kind)",
    "equivalent: Arrow's JSON reader gives ids as `string` or an integer type, never `large_string`",
)
_each(
    "dedup.io.fields.x_unstorable",
    'text.count("{") >= MAX_DEPTH',
    "equivalent: nesting is never deeper than the brackets opened, so with exactly `MAX_DEPTH` of "
    "them no field is too deep",
)
_each("dedup.io.fields.x_unstorable", 'encode("UTF-8", "backslashreplace")', _CODEC)
_each("dedup.io.fields.x_unstorable", '.decode("UTF-8")', _CODEC)

# Survivors of the readers, the fast path, the pass-through fields and the figures rule judged after
# the tests written for the others ------------------------------------------------------------------
_FIELD_DEFAULT = "equivalent: `field` defaults to None"
_each("dedup.io.readers.x__read_csv", '_one_line(err)}", )', _FIELD_DEFAULT)
_each("dedup.io.readers.x__read_lines", '_one_line(err)}", )', _FIELD_DEFAULT)
_each("dedup.io.readers.x__read_parquet", '_one_line(err)}", )', _FIELD_DEFAULT)
_SHORTCUT = (
    "equivalent in what is read: the fast path is a shortcut that takes a block only when Arrow reads "
    "it as the careful path does (`test_the_fast_path_takes_or_declines_a_block`); without it, or told "
    "no text field (it then declines), every line is read the careful way: the same records, slower"
)
_each("dedup.io.readers.x__read_lines", "fast = None", _SHORTCUT)
_each("dedup.io.readers.x__read_lines", "cfg.id_field, None)", _SHORTCUT)
_ARROW_INFERS = (
    "equivalent: Arrow infers int64 from Python ints and string from Python strings, and these "
    "columns (id, text, source file, line) are never all null"
)
_each("dedup.io.readers.x__table", "pa.array(values, None)", _ARROW_INFERS)
_each("dedup.io.readers.x__table", "pa.array(values, )", _ARROW_INFERS)
_each(
    "dedup.io.readers.x_detect_format",
    "head = handle.read(",
    "left: a longer head tells only for a file opening with more than 64 KiB of line breaks before "
    "`WARC/1.0` (the sniffer strips them; a gzip or zstd head is decompressed to 64 bytes whatever "
    "its length): no WARC writer makes one",
)
_each(
    "dedup.io.fields.x_json_text",
    "ensure_ascii=None",
    "equivalent: None is false, as `ensure_ascii=False` is",
)
_each(
    "dedup.figures.x__tokens",
    "figure_tokens(text, None, True)",
    "equivalent: with every word wanted the scanner reads the word list only for its words' lengths, "
    "which it then never uses, and Cython iterates None as no words",
)
_each(
    "dedup.figures.x_sequence",
    "_FIGURE_WORDS, None))",
    "equivalent: None is false, as `every_word=False` is",
)

# dedup/resolve.py ----------------------------------------------------------------------------------
_each("dedup.resolve.x_decide", "workers: int = 2", _WORKERS)
_each(
    "dedup.resolve.x_decide",
    "keep[unjudged[clash]] = None",
    "equivalent: NumPy stores None in a bool array as False",
)
_EMPTY_EXTRA = "equivalent: this empty array of extra pairs is only asked its length (0)"
_each("dedup.resolve.x_decide", "extra = np.empty((0, 2), None)", _EMPTY_EXTRA)
_each("dedup.resolve.x_decide", "extra = np.empty((0, 2), )", _EMPTY_EXTRA)
_each("dedup.resolve.x_decide", "extra = np.empty((0, 3), np.int64)", _EMPTY_EXTRA)
_ROUNDS = (
    "left: `GROUP_ROUNDS` caps the keep step's extra rounds (verifying records a group keeps side by "
    "side) against pathological groups; moving the cap by one, or lifting it, changes a decision only "
    "for a group that needs that many rounds, which no test builds. Under `keep: none` no extra round "
    "finds a pair (every record in a verified pair is dropped)"
)
for _snippet in (
    "rounds = 1",
    "rounds -= 1",
    "rounds += 2",
    "rounds <= GROUP_ROUNDS",
    "not drop_all or rounds",
):
    _each("dedup.resolve.x_decide", _snippet, _ROUNDS)
_CHECKED = (
    "left: `checked` only spares verifying a pair twice. A wrong code makes the extra round verify a "
    "pair again (the same verdict), or skip a pair of kept records whose code it happens to equal; "
    "the drop check cannot see a pair that was never verified, and a test would need kept records "
    "whose codes collide under this mutant"
)
for _snippet in (
    "pairs[:, 0] * len(rep) - pairs[:, 1]",
    "pairs[:, 0] / len(rep) + pairs[:, 1]",
    "pairs[:, 1] * len(rep) + pairs[:, 1]",
    "extra[:, 0] * len(rep) - extra[:, 1]",
    "extra[:, 0] / len(rep) + extra[:, 1]",
    "extra[:, 1] * len(rep) + extra[:, 1]",
):
    _each("dedup.resolve.x_decide", _snippet, _CHECKED)
_UNSIGNED = (
    "equivalent: this empty signature array is read only under `verify: estimate`, where it is not made"
)
_each("dedup.resolve.xǁ_Verifierǁ_chunk", "np.empty((len(rows), 0), dtype=None)", _UNSIGNED)
_each("dedup.resolve.xǁ_Verifierǁ_chunk", "np.empty((len(rows), 0), )", _UNSIGNED)
_each("dedup.resolve.xǁ_Verifierǁ_chunk", "np.empty((len(rows), 1), dtype=np.uint32)", _UNSIGNED)
_each(
    "dedup.resolve.xǁ_Verifierǁ_chunk",
    "if (needs_sets) or True else",
    "equivalent: the sets are fetched, but `lsh.verify` counts them only under `verify: exact` or "
    "containment, when they are fetched anyway",
)
_each("dedup.resolve.xǁ_Verifierǁ_chunk", "sets, cfg, )", _WORKERS)
_each(
    "dedup.resolve.xǁ_Verifierǁ_read",
    "range(0, len(missing), )",
    "equivalent: chunks that overlap read some records again, into the same dict, with the same result",
)
_each("dedup.resolve.xǁ_Verifierǁ_read", "np.array(chunk, dtype=None)", _DTYPE)
_each("dedup.resolve.xǁ_Verifierǁ_read", "np.array(chunk, )", _DTYPE)
_ONE_EACH = "equivalent: `zip`'s strictness only tells unequal lengths, and there is one item for each"
for _snippet in ("strict=None)", "strict=False)", "(read(t) for t in texts), )"):
    _each("dedup.resolve.xǁ_Verifierǁ_read", _snippet, _ONE_EACH)
_NO_CLASH = "equivalent: no pair clashes either way (the caller only asks `clash.any()`, false for zeros)"
_each("dedup.resolve.xǁ_Verifierǁclashes", "np.zeros(len(pairs), dtype=None)", _NO_CLASH)
_each("dedup.resolve.xǁ_Verifierǁclashes", "np.zeros(len(pairs), )", _NO_CLASH)
_each("dedup.resolve.x__figure_digest", '.encode("UTF-8"', _CODEC)
_NO_SURROGATE = (
    "equivalent: the error handler is called only for a lone surrogate, which no cleaned text holds "
    "(the readers reject them)"
)
# The digest moved from `resolve._figure_digest` to `figures.digests` (made once per record in
# featurize); the same mutants there are the same equivalents.
for _where in ("dedup.resolve.x__figure_digest", "dedup.figures.x_digests"):
    for _snippet in ('"XXsurrogatepassXX"', '"SURROGATEPASS"', '.encode("utf-8", )'):
        _each(_where, _snippet, _NO_SURROGATE)
    _each(_where, '.encode("UTF-8"', _CODEC)
    _each(
        _where,
        '"XX\\x1fXX".join',
        "equivalent: the tokens are lowercase digits, number words and months, so a separator holding a "
        "character they never hold joins them one to one",
    )
_RESHAPE = "equivalent: NumPy (2.4) reads any negative size as the one it works out, as it does -1"
_each("dedup.figures.x_digests", ".reshape(-2, 2)", _RESHAPE)
_each("dedup.resolve.xǁ_Verifierǁ_digests", ".reshape(-2, 2)", _RESHAPE)
_each(
    "dedup.resolve.x__with_extra", "np.sort(extra, )", "equivalent: the default axis is the last, 1 for pairs"
)
_each(
    "dedup.resolve.x__with_extra",
    "codes / units",
    "left: a float quotient truncated is the integer one while codes are exact in a float64 and "
    "far from a multiple of `units`: true for runs of up to tens of millions of exact groups; only "
    "a test of that size would tell",
)
_MINLENGTH = "equivalent: the counts are read only at labels that exist, below `labels.max() + 1`"
for _snippet in (
    "np.bincount(labels[kept], )",
    "(units) and False else 0",
    "+ 2 if units else 0",
    "+ 1 if units else 1",
):
    _each("dedup.resolve.x__kept_pairs", _snippet, _MINLENGTH)
_each(
    "dedup.resolve.x__check_drops",
    "if not drop_all or len(found.edges):",
    "equivalent: under `keep: none` no kept record is in a verified pair, so the check finds nothing",
)
_TABLE = "equivalent: a longer table, read only at group numbers"
_each("dedup.resolve.x__check_drops", "max(int(group.max()) + 2, 1)", _TABLE)
_each("dedup.resolve.x__check_drops", "max(int(group.max()) + 1, 2)", _TABLE)
_CODES = (
    "equivalent: pair codes `a * units + b` (a < b <= max group) stay one to one when `units` is one "
    "less than the groups (a collision needs b >= units + 2) or more"
)
for _snippet in (
    "units = max(int(group.max()) - 1, 1)",
    "units = max(int(group.max()) + 2, 1)",
    "units = max(int(group.max()) + 1, 2)",
):
    _each("dedup.resolve.x__check_drops", _snippet, _CODES)
_each("dedup.resolve.x__check_drops", "[:5], dtype=None)", _DTYPE)
_each("dedup.resolve.x__check_drops", "sorted(wrong)[:5], )", _DTYPE)
for _snippet in ("strict=None))", "strict=False))", "named_ids, ))"):
    _each("dedup.resolve.x__check_drops", _snippet, _ONE_EACH)
for _snippet in (
    "np.arange(n, dtype=None)",
    "np.full(n, -1, dtype=None)",
    "np.ones(n, dtype=None)",
    "np.full(units, -1, dtype=None)",
):
    _each("dedup.resolve.x__expand", _snippet, _DTYPE)
_each("dedup.resolve.x__expand", "np.arange(n, )", _DTYPE)
_each("dedup.resolve.x__expand", "np.full(n, -1, )", _DTYPE)
_each("dedup.resolve.x__expand", "np.ones(n, )", _DTYPE)
_each("dedup.resolve.x__expand", "np.full(units, -1, )", _DTYPE)
_each(
    "dedup.resolve.x__expand",
    "np.full(n, -2, dtype=np.int64)",
    "equivalent: a kept record is any negative `duplicate_of` (`Duplicates.kept`)",
)
_each(
    "dedup.resolve.x__expand",
    "cluster_size.astype(None)",
    "equivalent: the output builder writes `cluster_size` as int64 whatever the array's dtype",
)
_SET_LATER = "equivalent: `decide` and `resolve` set the pair counts, bands and rows after this"
_each("dedup.resolve.x__expand", "        None,", _SET_LATER)  # a constructor argument on its own line
_each("dedup.resolve.x__expand", "        1,", _SET_LATER)
_each("dedup.resolve.x__expand", "np.bincount(group, )", _MINLENGTH)
_each("dedup.resolve.x__expand", "np.bincount(labels, )", _MINLENGTH)
_each("dedup.resolve.x__expand", "+ 2 if n else 0", _MINLENGTH)
_each("dedup.resolve.x__expand", "+ 1 if n else 1", _MINLENGTH)
_each("dedup.resolve.x__expand", "np.bincount(cluster_of, )", _MINLENGTH)
_each(
    "dedup.figures.x_conflict",
    "small, large = (a.body, b.body) if",
    "equivalent: which record's frames are walked changes nothing; the test of each shared frame is "
    "the same both ways round",
)
_each("dedup.resolve.x_resolve", "workers: int = 2", _WORKERS)
_each("dedup.resolve.x_resolve", "verdict, config, clock, )", _WORKERS)
_HELD_PAIRS = "equivalent: when the pairs held across bands are deduplicated changes memory, not the pairs (`PAIRS_HELD`)"
for _snippet in ("size = len(found)", "size -= len(found)", "size >= PAIRS_HELD", "size = 1"):
    _each("dedup.resolve.x_candidate_pairs", _snippet, _HELD_PAIRS)
_NO_BANDS = "equivalent: there is at least one band, so the list of band pairs is never empty"
for _snippet in ("(held) or True else", "if held else np.empty("):
    _each("dedup.resolve.x_candidate_pairs", _snippet, _NO_BANDS)
_each(
    "dedup.resolve.x_candidate_pairs",
    ".reshape(-2, 1)",
    "equivalent: NumPy takes any negative size as the one to infer",
)
_each(
    "dedup.resolve.x_candidate_pairs",
    "k = max(len(rep), 2)",
    "equivalent: `k` differs only for one record or none, which make no pair",
)
_each(
    "dedup.resolve.x_candidate_pairs",
    "codes / k",
    "left: a float quotient truncated is the integer one while codes are exact in a float64 and "
    "far from a multiple of `k`: true for runs of up to tens of millions of exact groups; only a "
    "test of that size would tell",
)
_SOURCE_ORDER = (
    "equivalent: records are numbered in source order, so a rank without the position as its last "
    "key breaks ties by position anyway (`cluster.rank` sorts stably)"
)
_each("dedup.resolve.x_keep_rank", "cluster.rank(-source.lengths(), )", _SOURCE_ORDER)
_each("dedup.resolve.x_keep_rank", "cluster.rank(ranks, )", _SOURCE_ORDER)
_each("dedup.resolve.x_keep_rank", "[err.index], dtype=None)", _DTYPE)
_each("dedup.resolve.x_keep_rank", "[err.index], ))", _DTYPE)
_STABLE = "equivalent: the keys sorted are distinct (ranks are a total order; labels sorted with kept rows ascending), so any sort gives one order"
_each("dedup.cluster.x_settle", "kind=None)", _STABLE)
_each("dedup.cluster.x_settle", "np.argsort(rank[nodes], )", _STABLE)
_each("dedup.cluster.x_settle", 'kind="STABLE"', "equivalent: NumPy reads sort kinds in any case")
_each("dedup.resolve.x__kept_pairs", 'kind="STABLE"', "equivalent: NumPy reads sort kinds in any case")
_each(
    "dedup.cluster.x_settle",
    "in_pair = np.zeros(n, dtype=None)",
    "equivalent: a float mask set to 1.0, found by `flatnonzero` and summed with an explicit int64 dtype",
)
for _snippet in ("np.cumsum(in_pair, dtype=None)", "np.cumsum(in_pair, )"):
    _each(
        "dedup.cluster.x_settle", _snippet, "equivalent: the cumulative sum of a bool array is int64 already"
    )
for _snippet in (
    "local = np.empty(len(nodes), dtype=None)",
    "local = np.empty(len(nodes), )",
    "np.arange(len(nodes), dtype=None)",
):
    _each("dedup.cluster.x_settle", _snippet, _DTYPE + " (the kernel takes the ranks as int64)")
_each(
    "dedup.io.fastjson.x_parse_block",
    "len(block) - 1)",
    "equivalent: a block one byte short of the data leaves only the closing newline to a block of its own, "
    "which holds no object",
)
_each(
    "dedup.cluster.x_settle",
    "in_pair = np.zeros(n, )",
    "equivalent: a float mask set to 1.0, found by `flatnonzero` and summed with an explicit int64 dtype",
)
_each("dedup.cluster.x_settle", "np.arange(len(nodes), )", _DTYPE + " (the kernel takes the ranks as int64)")
_NONE_THERE = "equivalent: with no records (`n == 0`) both branches give an empty array, and it is not read"
for _snippet in (
    "if (n) or True else",
    "if (n) and False else 0",
    "if n else np.empty(0, None)",
    "if n else np.empty(0, )",
    "if n else np.empty(1, np.int64)",
):
    _each("dedup.resolve.x__expand", _snippet, _NONE_THERE)
_NO_SECOND = (
    "equivalent: `second` is read only for texts repeated at least twice, which all have a second copy"
)
_each("dedup.resolve.x__expand", "second = np.full(units, +1, dtype=np.int64)", _NO_SECOND)
_each("dedup.resolve.x__expand", "second = np.full(units, -2, dtype=np.int64)", _NO_SECOND)
_ONE_KEPT = "equivalent: an exact group keeps at most one record, so the two groups of a pair give at most two kept rows"
_each("dedup.resolve.x__check_drops", "(group == b)))[:3]", _ONE_KEPT)
_each("dedup.resolve.x__check_drops", "and '{ids[+1]}'", _ONE_KEPT + " (`ids[1]` is `ids[-1]`)")
_each(
    "dedup.resolve.x__check_drops",
    "found.edges[np.argmax(None)]",
    "left: the message would name the first verified pair rather than the first joining two kept "
    "records; the run stops either way, and a test would need a planted keep step that leaves in "
    "only a later pair",
)
_each(
    "dedup.resolve.x__expand",
    "~leads & np.r_[True, leads[:-1]]",
    "equivalent: the first record in order always leads its group, so `~leads[0]` is false either way",
)
_each("dedup.figures.x__read_paragraph", '":" in paragraph or _CLOCK', _NO_CLOCK)
_each("dedup.figures.x__read_paragraph", "if (stamped) or True else", _NO_CLOCK)
_each("dedup.resolve.xǁ_Verifierǁ_clashes", "np.array(differ, dtype=None)", _DTYPE)
_each("dedup.resolve.xǁ_Verifierǁ_conflicts", "for a, b in pairs.tolist()], dtype=None)", _DTYPE)
_each("dedup.resolve.xǁ_Verifierǁ_conflicts", "for a, b in pairs.tolist()], )", _DTYPE)
_each("dedup.resolve.xǁ_Verifierǁ_hand_over", ".reshape(-2, 2)", _RESHAPE)
_each("dedup.cluster.x_split_components", ".reshape(-2, 2)", _RESHAPE)
_each("dedup.cluster.x_split_components", "np.arange(len(pairs), dtype=None)", _DTYPE)
_each("dedup.cluster.x_split_components", "np.arange(len(pairs), )", _DTYPE)
_each(
    "dedup.cluster.x_split_components",
    "if count < 1 or not len(pairs)",
    "equivalent: with one part the general path puts every pair in part 0, ascending, as the shortcut does",
)
_each(
    "dedup.cluster.x_split_components",
    "labels[local[:, 1]]",
    "equivalent: both records of a pair are in one component, so either gives the pair's component",
)
_each("dedup.resolve.x__settle_again", "np.cumsum(kept, dtype=None)", _DTYPE)
_each("dedup.resolve.x__settle_again", "np.cumsum(kept, )", _DTYPE)
_RENUMBER_ZERO = (
    "equivalent: edge 0 keeps index 0 when it is kept, and when it is removed every record naming it is in "
    "a group that lost a pair, decided again below"
)
_each("dedup.resolve.x__settle_again", "named = pair > 0", _RENUMBER_ZERO)
_each("dedup.resolve.x__settle_again", "named = pair >= 1", _RENUMBER_ZERO)
_each(
    "dedup.resolve.x_decide",
    "labels[edges[:, 1]]",
    "equivalent: both records of a pair are in one group, so either gives the pair's group",
)
_SAME_GROUP = "equivalent: both records of a pair are in one group, so either gives the pair's group"
_each("dedup.resolve.x_decide", "labels[added[:, 1]]", _SAME_GROUP)
_each(
    "dedup.resolve.x_decide",
    "np.ones(len(edges) - len(added), dtype=None)",
    "equivalent: `_settle_again` counts it as int64 whatever its dtype",
)
_each(
    "dedup.resolve.x_decide",
    "np.ones(len(edges) - len(added), )",
    "equivalent: `_settle_again` counts it as int64 whatever its dtype",
)
_each(
    "dedup.resolve.x_decide",
    "np.ones(len(edges) + len(added), dtype=bool)",
    "equivalent: only the first entries, one per edge before the round, are read",
)
_each(
    "dedup.resolve.x_decide",
    "                None,",
    "equivalent: group rounds run only when not `keep: none`, where `drop_all` is False, as None is",
)
_each("dedup.resolve.x_resolve", "workers: int = 2", _WORKERS)
_each("dedup.resolve.xǁ_Verifierǁ_clashes", "np.array(differ, )]", _DTYPE)
_FARM_ONLY = "equivalent: it moves only which process reads a pair, not what is found (tests/test_workers.py)"
_each("dedup.resolve.xǁ_Verifierǁ_clashes", "dtype=np.int64)], 2", _FARM_ONLY + "; one part makes one wave")
_each(
    "dedup.resolve.xǁ_Verifierǁ_clashes",
    "self.farm.count >= 1",
    _FARM_ONLY + "; a farm of one hands nothing over",
)
_each("dedup.resolve.xǁ_Verifierǁ_clashes", "len(differ) > FARM_PAIRS", _FARM_ONLY)
