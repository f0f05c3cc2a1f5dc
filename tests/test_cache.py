"""The import-time cache and the keys behind it: entries that check themselves, atomic
writes, an unwritable directory, keys that change exactly when the generated code
may, committed generated/ modules, and many processes at once (in fresh processes,
as `@s2s.grad` runs at import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from process_support import ROOT, environment, python
from test_generated import CHECKPOINT, HAS_AUX, TARGETS

import s2s
from s2s import cache
from s2s.cache import CacheWarning, ModuleCache
from s2s.fingerprint import canonical, fingerprint
from s2s.frontend import parse_function
from s2s.testing import ATOL, RTOL, numeric_gradient

KEY = "ab" * 32


# --- entries --------------------------------------------------------------------------


def test_entries_round_trip_and_clear_touches_only_entries(tmp_path):
    store = ModuleCache(str(tmp_path / "c"))
    store.store(KEY, "x = 1\n")
    assert ModuleCache(str(tmp_path / "c")).lookup(KEY) == "x = 1\n"
    assert ModuleCache(str(tmp_path / "c")).lookup("cd" * 32) is None
    (tmp_path / "c" / "mine.txt").write_text("keep me")
    info = store.info()
    assert (info.entries, info.leftovers) == (1, 0) and info.size > 0
    assert store.clear() == 1
    assert os.listdir(tmp_path / "c") == ["mine.txt"]
    assert store.lookup(KEY) is None


def _damaged(data: bytes) -> list[bytes]:
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    return [
        data[: len(data) // 2],  # a write cut off halfway
        data[:-1],  # the last byte missing
        b"",  # created, never written
        bytes(flipped),  # one bit flipped in the code
        data.replace(b"entry 1 ", b"entry 9 "),  # another format
        data + b"x = 2\n",  # something appended
    ]


def test_a_damaged_entry_is_a_miss(tmp_path):
    directory = tmp_path / "c"
    ModuleCache(str(directory)).store(KEY, "def f(x):\n    return 2 * x\n")
    path = directory / f"{KEY}.s2s"
    good = path.read_bytes()
    for data in _damaged(good):
        path.write_bytes(data)
        assert ModuleCache(str(directory)).lookup(KEY) is None, data
    path.write_bytes(good)
    os.rename(path, directory / f"{'cd' * 32}.s2s")  # an entry under another key
    assert ModuleCache(str(directory)).lookup("cd" * 32) is None


def test_a_write_that_fails_halfway_leaves_neither_entry_nor_temporary(
    tmp_path, monkeypatch
):
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise KeyboardInterrupt  # killed in the middle of the write

    monkeypatch.setattr(
        os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode))
    )
    with pytest.raises(KeyboardInterrupt):
        cache.write_atomic(str(tmp_path / "out.py"), "x = 1\n" * 1000)
    assert os.listdir(tmp_path) == []


def test_an_unwritable_directory_falls_back_to_memory_with_one_warning(tmp_path):
    (tmp_path / "file").write_text("")  # a directory cannot be made under a file
    store = ModuleCache(str(tmp_path / "file" / "cache"))
    with pytest.warns(CacheWarning, match="cannot write its cache") as caught:
        store.store(KEY, "a = 1\n")
        store.store("cd" * 32, "b = 2\n")
    assert len(caught) == 1
    assert store.lookup(KEY) == "a = 1\n" and store.lookup("cd" * 32) == "b = 2\n"


def test_keys_must_be_hex_digests(tmp_path):
    with pytest.raises(ValueError):
        ModuleCache(str(tmp_path)).store("../escape", "x = 1\n")


def test_switch_and_directory_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("S2S_CACHE_DIR", str(tmp_path / "here"))
    assert cache.default_cache().directory == str(tmp_path / "here")
    for off in ("0", "off", "False"):
        monkeypatch.setenv("S2S_CACHE", off)
        assert cache.default_cache() is None
    monkeypatch.delenv("S2S_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache.cache_directory() == str(tmp_path / "xdg" / "s2s")


def test_the_platform_directory_comes_from_platformdirs(monkeypatch, tmp_path):
    import platformdirs

    asked = []

    def user_cache_dir(appname, appauthor=None):
        asked.append((appname, appauthor))
        return str(tmp_path / "platform")

    monkeypatch.delenv("S2S_CACHE_DIR")
    monkeypatch.setattr(platformdirs, "user_cache_dir", user_cache_dir)
    assert cache.cache_directory() == str(tmp_path / "platform")
    assert asked == [("s2s", False)]
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda *a, **k: "rel/s2s")
    assert cache.cache_directory() is None  # no home: kept in memory


def test_every_library_s2s_imports_is_a_declared_dependency():
    """platformdirs came with black; s2s imports it, so pyproject.toml names it."""
    import ast
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    declared = project["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip() for d in declared}
    imported = set()
    paths = [
        os.path.join(folder, name)
        for folder, _, names in os.walk(os.path.join(ROOT, "s2s"))
        for name in names
        if name.endswith(".py")
    ]
    for path in paths:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"s2s"}
    # An optional backend's library is imported by its code only, and installed
    # by the extra its record names.
    from s2s.backends import BACKENDS

    extras = project["optional-dependencies"]
    optional = {b.library for b in BACKENDS.values() if b.library}
    for backend in BACKENDS.values():
        if backend.library:
            wanted = backend.library.replace("_", "-")
            assert any(d.startswith(wanted) for d in extras[backend.extra]), backend
    assert third_party - optional == {"numpy", "astor", "black", "platformdirs"}
    assert third_party - optional <= names, third_party - names


# --- the size cap -----------------------------------------------------------------------


def _entry_key(n: int) -> str:
    return f"{n:064x}"


def test_storing_beyond_the_cap_removes_the_least_recently_used(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "EVICT_EVERY", 1)  # check the cap at every store
    directory = tmp_path / "c"
    store = ModuleCache(str(directory))
    text = "x = 1\n" * 100
    for n in range(4):
        store.store(_entry_key(n), text)
        os.utime(directory / f"{_entry_key(n)}.s2s", (1000 + n, 1000 + n))
    size = (directory / f"{_entry_key(0)}.s2s").stat().st_size
    # A hit marks an entry used: entry 0, the oldest, becomes the newest.
    assert ModuleCache(str(directory)).lookup(_entry_key(0)) == text
    monkeypatch.setenv("S2S_CACHE_SIZE", str(3 * size))
    store.store(_entry_key(4), text)
    left = sorted(name[:64] for name in os.listdir(directory))
    assert left == [_entry_key(n) for n in (0, 3, 4)]  # 1 and 2 were least recent
    info = store.info()
    assert (info.entries, info.size, info.cap) == (3, 3 * size, 3 * size)
    assert info.cap_source == "$S2S_CACHE_SIZE"
    # The entry just stored is kept even when it alone is over the cap.
    monkeypatch.setenv("S2S_CACHE_SIZE", "10")
    store.store(_entry_key(5), text)
    assert [name[:64] for name in os.listdir(directory)] == [_entry_key(5)]


def test_the_cap_is_checked_once_in_a_while_by_key(tmp_path, monkeypatch):
    """Checking stats every entry, so a store checks once in EVICT_EVERY (by key)."""
    directory = tmp_path / "c"
    store = ModuleCache(str(directory))
    monkeypatch.setenv("S2S_CACHE_SIZE", "1")
    skipped = f"{1:08x}" + "0" * 56  # int(key[:8], 16) % 16 != 0
    store.store(skipped, "a = 1\n")
    store.store("f" * 64, "b = 2\n")
    assert len(os.listdir(directory)) == 2
    checked = "0" * 64
    store.store(checked, "c = 3\n")
    assert os.listdir(directory) == [f"{checked}.s2s"]


@pytest.mark.parametrize(
    "text, size",
    [
        ("123", 123),
        ("64K", 64 * 1024),
        ("64kb", 64 * 1024),
        ("64KiB", 64 * 1024),
        ("1.5M", 3 * 2**19),
        ("2G", 2 * 2**30),
        ("0", 0),
        ("lots", None),
        ("-5", None),
        ("3Q", None),
    ],
)
def test_sizes_read_from_the_environment(text, size):
    assert cache.parse_size(text) == size


def test_a_cap_that_is_not_a_size_keeps_the_default_with_one_warning(monkeypatch):
    monkeypatch.setenv("S2S_CACHE_SIZE", "plenty")
    monkeypatch.setattr(cache, "_WARNED", set())
    with pytest.warns(CacheWarning, match="'plenty' is not a size") as caught:
        assert cache.size_cap() == cache.DEFAULT_SIZE
        assert cache.size_cap() == cache.DEFAULT_SIZE
    assert len(caught) == 1
    monkeypatch.delenv("S2S_CACHE_SIZE")
    assert cache.cap_setting() == (cache.DEFAULT_SIZE, "default")


# --- keys -----------------------------------------------------------------------------


def _key(source: str, tmp_path, name: str = "f", wrt=("x",), options=None) -> str:
    """The content key of `name` defined by `source` in a module of its own."""
    directory = tmp_path / str(len(os.listdir(tmp_path)))  # same file name, new file
    directory.mkdir()
    path = directory / "keyed.py"
    path.write_text(source)
    namespace: dict = {"__name__": path.stem}
    exec(compile(source, str(path), "exec"), namespace)
    parsed = parse_function(namespace[name])
    return fingerprint(parsed, wrt, True, options or {}).content


BASE = """\
import numpy as np

RATE = 2.0
UNUSED = 1.0


def helper(v):
    return np.exp(v) * RATE


def f(x, y=3):
    return np.sum(helper(x) * y)
"""


@pytest.mark.parametrize(
    "change, same",
    [
        (("UNUSED = 1.0", "UNUSED = 5.0"), True),  # a constant f does not read
        (
            ("import numpy as np", "import numpy as np\nimport math"),
            False,
        ),  # lines move
        (("RATE = 2.0", "RATE = 2.5"), False),  # a constant a helper inlines
        (("RATE = 2.0", "RATE = 2"), False),  # int, not float
        (("np.exp(v) * RATE", "np.exp(v) * RATE * 1"), False),  # a helper's body
        (("y=3):", "y=4):"), False),  # a default
        (("np.sum(helper(x) * y)", "np.sum(helper(x) * y)  # note"), False),  # quoted
        (("np.sum(helper(x) * y)", "np.sum(helper(x)  *  y)"), False),  # quoted
    ],
)
def test_the_key_changes_when_the_generated_code_may(tmp_path, change, same):
    old, new = change
    assert old in BASE
    assert (_key(BASE, tmp_path) == _key(BASE.replace(old, new), tmp_path)) is same


def test_the_key_covers_wrt_and_every_option(tmp_path):
    keys = {
        _key(BASE, tmp_path),
        _key(BASE, tmp_path, wrt=("y",)),
        _key(BASE, tmp_path, wrt=("x", "y")),
        _key(BASE, tmp_path, options={"shapes": {"x": (3,)}}),
        _key(BASE, tmp_path, options={"shapes": {"x": (4,)}}),
    }
    assert len(keys) == 5
    assert _key(BASE, tmp_path, options={"a": 1, "b": 2.0}) == _key(
        BASE, tmp_path, options={"b": 2.0, "a": 1}
    )


def test_canonical_forms_are_typed_and_ordered():
    assert canonical({"b": (1,), "a": [1.0, True]}) == "{'a':[1.0,True],'b':(1,)}"
    assert canonical({2, 1}) == canonical({1, 2})
    assert canonical(np.float32(1.5)) != canonical(1.5)
    assert canonical(np.arange(3)) != canonical(np.arange(3.0))
    with pytest.raises(TypeError):
        canonical(object())


def test_a_recursive_function_still_gets_a_key(tmp_path):
    source = "def f(x):\n    return f(x) * 2\n"
    assert len(_key(source, tmp_path)) == 64


# --- grad and the cache, in fresh processes -------------------------------------------

MODULE = """\
import numpy as np
import s2s

RATE = 3.0


def helper(v):
    return np.exp(-v) * RATE


@s2s.grad(wrt=("w",))
def objective(w, x):
    return np.sum(helper(x * w) ** 2)
"""

PROBE = """
import json, sys
import numpy as np
import deco
w, x = np.linspace(-1, 1, 5), np.linspace(0.5, 2, 5)
(dw,) = deco.objective(w, x)
if sys.argv[1:] == ["source"]:
    deco.objective.source
print(json.dumps({
    "provenance": deco.objective.provenance,
    "dw": dw.tolist(),
    "loaded": sorted(m for m in ("black", "s2s.lower", "s2s.emit", "astor")
                     if m in sys.modules),
}))
"""


@pytest.fixture
def deco(tmp_path):
    (tmp_path / "deco.py").write_text(MODULE)
    return tmp_path


def expected_gradient() -> np.ndarray:
    namespace: dict = {}
    exec(MODULE.replace("@s2s.grad", "#"), namespace)
    w, x = np.linspace(-1, 1, 5), np.linspace(0.5, 2, 5)
    return numeric_gradient(namespace["objective"], [w, x], 0)


def probe(directory, cache_dir, *args, **env) -> dict:
    result = python(PROBE, *args, cwd=directory, env=environment(cache_dir, **env))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    np.testing.assert_allclose(out["dw"], expected_gradient(), rtol=RTOL, atol=ATOL)
    return out


def entries(cache_dir) -> list[str]:
    return sorted(n for n in os.listdir(cache_dir) if n.endswith(".s2s"))


def test_second_import_is_a_cache_hit_without_the_pipeline_or_black(deco):
    cache_dir = deco / "cache"
    cold = probe(deco, cache_dir)
    assert cold["provenance"] == "generated"
    assert "black" not in cold["loaded"]  # the cold path compiles astor's text
    # the code for any shapes, and the code specialized for the arguments' shapes
    assert len(entries(cache_dir)) == 2
    warm = probe(deco, cache_dir)
    assert warm["provenance"] == "cache" and warm["loaded"] == []
    # .source generates the whole module (the code that runs is the gradient's
    # one function) and formats it once per machine, then it is a cache hit too
    assert "black" in probe(deco, cache_dir, "source")["loaded"]
    assert probe(deco, cache_dir, "source")["loaded"] == []
    assert len(entries(cache_dir)) == 4  # and the whole module, formatted


def test_keys_are_the_same_whatever_the_hash_seed(deco):
    cache_dir = deco / "cache"
    assert probe(deco, cache_dir, PYTHONHASHSEED="1")["provenance"] == "generated"
    assert probe(deco, cache_dir, PYTHONHASHSEED="2")["provenance"] == "cache"
    assert probe(deco, cache_dir, PYTHONHASHSEED="3")["provenance"] == "cache"


def test_a_truncated_entry_is_regenerated(deco):
    cache_dir = deco / "cache"
    probe(deco, cache_dir)
    paths = [cache_dir / name for name in entries(cache_dir)]
    wholes = [path.read_bytes() for path in paths]
    for path, whole in zip(paths, wholes):
        path.write_bytes(whole[: len(whole) // 2])  # a write killed halfway
    assert probe(deco, cache_dir)["provenance"] == "generated"
    assert [path.read_bytes() for path in paths] == wholes
    assert probe(deco, cache_dir)["provenance"] == "cache"


def test_cache_off_generates_every_time(deco):
    env = environment(None)
    for _ in range(2):
        result = python(PROBE, cwd=deco, env=env)
        assert json.loads(result.stdout)["provenance"] == "generated"


def test_eight_processes_import_at_once_with_an_empty_cache(deco):
    cache_dir = deco / "cache"
    env = environment(cache_dir, PYTHONPATH=str(deco))
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROBE],
            cwd=deco,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    expected = expected_gradient()
    for p, (out, err) in zip(processes, outputs):
        assert p.returncode == 0, err
        assert err == ""  # no warning either
        dw = json.loads(out)["dw"]
        np.testing.assert_allclose(dw, expected, rtol=RTOL, atol=ATOL)
    left = [n for n in os.listdir(cache_dir) if not n.endswith(cache.NOTE_SUFFIX)]
    assert sorted(left) == entries(cache_dir)  # no temporary file left
    for name in entries(cache_dir):
        assert ModuleCache(str(cache_dir)).lookup(name[: -len(".s2s")]) is not None
    assert probe(deco, cache_dir)["provenance"] == "cache"


def test_tracebacks_and_inspect_show_generated_lines_on_a_cache_hit(deco):
    code = textwrap.dedent("""
        import inspect, traceback
        import deco
        print(deco.objective.provenance)
        print(inspect.getsource(deco.objective._compiled).splitlines()[0])
        try:
            deco.objective("w", 1.0)
        except TypeError:
            print(traceback.format_exc())
        """)
    env = environment(deco / "cache")
    python("import deco", cwd=deco, env=env)
    out = python(code, cwd=deco, env=env).stdout
    assert out.startswith("cache\ndef objective_grad(w, x):\n")
    assert 'File "<s2s-generated objective ' in out
    assert "in objective_grad" in out and "* w" in out  # the generated line itself


# --- committed generated/ modules -----------------------------------------------------


@pytest.mark.parametrize("target, wrt, mode", TARGETS)
def test_grad_uses_each_committed_example_module(target, wrt, mode):
    """The key `s2s generate` computes from the file matches the one `grad` (or
    s2s.derivative, for the other modes) computes from the live function, so the
    committed module is what runs.  A module generated from a committed gradient
    module is found from the gradient module's function."""
    import importlib

    from s2s.cli import Target, output_path

    path, name = target.split(":")
    module = importlib.import_module(path[: -len(".py")].replace("/", "."))
    names = tuple(wrt.split(","))
    wrt = names if len(names) > 1 else names[0]
    if (target, mode) in HAS_AUX:  # `s2s generate --has-aux`
        g = s2s.grad(getattr(module, name), wrt=wrt, has_aux=True)
    elif (target, mode) in CHECKPOINT:  # `s2s generate --checkpoint K`
        k = CHECKPOINT[target, mode]
        k = k if k == "auto" else int(k)
        g = s2s.grad(getattr(module, name), wrt=wrt, checkpoint=k)
    else:
        g = s2s.derivative(getattr(module, name), mode, wrt=wrt)
    assert g.provenance == "committed"
    assert g._loaded.path == output_path(
        os.path.join(ROOT, "generated"), Target(path, name, mode=mode)
    )
    with open(g._loaded.path, encoding="utf-8") as f:
        committed = f.read()
    assert committed.startswith("# Generated by s2s")
    # .source is the module as generate writes it, less the header, as it is for a
    # gradient generated now (test_api.py).
    assert g.source == cache.stamped_code(committed)
    assert g.source.startswith("import ")


def _project(tmp_path):
    """A copy of examples/graph.py with its committed module, in a project of its own."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "generated").mkdir()
    with open(os.path.join(ROOT, "examples", "graph.py"), encoding="utf-8") as f:
        (tmp_path / "graph.py").write_text(f.read())
    with open(os.path.join(ROOT, "generated", "graph_J.py"), encoding="utf-8") as f:
        (tmp_path / "generated" / "graph_J.py").write_text(f.read())
    return tmp_path / "generated" / "graph_J.py"


_GRAPH = """
import json, warnings
warnings.simplefilter("always")
import s2s, graph
g = s2s.grad(graph.J, wrt=("a", "b", "c"))
print(json.dumps([g.provenance, g(5.0, 3.0, 2.0)]))
"""


def test_a_committed_module_edited_by_hand_is_not_used(tmp_path):
    committed = _project(tmp_path)
    env = environment(tmp_path / "cache")
    result = python(_GRAPH, cwd=tmp_path, env=env)
    assert json.loads(result.stdout) == ["committed", [3.0, 6.0, 9.0]]
    committed.write_text(committed.read_text().replace("dv = 3.0", "dv = 4.0"))
    result = python(_GRAPH, cwd=tmp_path, env=env)
    assert json.loads(result.stdout) == ["generated", [3.0, 6.0, 9.0]]
    assert "was edited after s2s generated it" in result.stderr


def test_a_committed_module_of_an_older_source_is_not_used(tmp_path):
    _project(tmp_path)
    source = tmp_path / "graph.py"
    source.write_text(source.read_text().replace("J = 3 * v", "J = 4 * v"))
    result = python(_GRAPH, cwd=tmp_path, env=environment(tmp_path / "cache"))
    assert json.loads(result.stdout) == ["generated", [4.0, 8.0, 12.0]]
    assert result.stderr == ""


def test_source_is_the_same_whichever_way_the_code_came(tmp_path, monkeypatch):
    monkeypatch.setenv("S2S_CACHE_DIR", str(tmp_path))

    def f(x):
        return np.sin(x) * x

    first, second = s2s.grad(f), s2s.grad(f)
    assert (first.provenance, second.provenance) == ("generated", "cache")
    assert second.source == first.source and "def f_grad(x):" in first.source
    # the stages of the whole module, which `.source` shows (what runs is the
    # gradient's one function, cached on its own)
    assert second.stages.module.text == second.source
    assert "def f_grad(x):" in second._loaded.code
    assert "def f_value_and_grad" not in second._loaded.code
    assert second(0.5) == first(0.5) == np.cos(0.5) * 0.5 + np.sin(0.5)


def test_the_cache_key_reads_every_module_of_s2s_subpackages_included(
    tmp_path, monkeypatch
):
    from s2s.fingerprint import _package_digest

    package = tmp_path / "pkg_for_digest"
    (package / "stage").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "stage" / "__init__.py").write_text("")
    (package / "stage" / "passes.py").write_text("A = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = _package_digest("pkg_for_digest")
    (package / "stage" / "passes.py").write_text("A = 2\n")
    assert _package_digest("pkg_for_digest") != before


def test_a_settled_package_digest_is_kept_and_an_edit_is_still_seen(
    tmp_path, monkeypatch
):
    import time

    from s2s import fingerprint

    package = tmp_path / "pkg_settled"
    package.mkdir()
    (package / "__init__.py").write_text("A = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("S2S_CACHE_DIR", str(tmp_path / "cache"))
    time.sleep(0.05)  # several ticks of the coarsest Linux file clock
    later = time.time_ns() + 2 * fingerprint.SETTLED_NS  # the files look settled
    monkeypatch.setattr(fingerprint.time, "time_ns", lambda: later)
    first = fingerprint._package_digest("pkg_settled")

    def no_reading(*args, **kwargs):
        raise AssertionError("the kept digest should have been used")

    with monkeypatch.context() as m:
        m.setattr(fingerprint, "open", no_reading, raising=False)
        assert fingerprint._package_digest("pkg_settled") == first
    (package / "__init__.py").write_text("A = 2\n")  # same size, new change time
    assert fingerprint._package_digest("pkg_settled") != first


def test_a_note_is_kept_under_its_key_is_no_entry_and_is_cleared(tmp_path):
    store = ModuleCache(str(tmp_path))
    store.remember("source-digest-pkg_x", "k1", "v1")
    assert store.recall("source-digest-pkg_x", "k1") == "v1"
    assert store.recall("source-digest-pkg_x", "k2") is None  # another key: stale
    assert store.recall("never-kept", "k1") is None
    assert store.info().entries == 0
    store.clear()
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError):
        store.recall("../escape", "k1")
