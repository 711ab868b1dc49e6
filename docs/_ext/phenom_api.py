"""The API reference's pages, one per module of phenom, written before Sphinx reads the sources.

Each module's page documents the names of its ``__all__`` that it defines (binds at its top level
by ``def``, ``class`` or an assignment), the names it exports from an internal module, and the
names it defines that its documented objects refer to (a limit quoted as :data:`MAX_STEPS`, a
type variable in a signature). A name it re-exports from another documented module gets a short
entry there that links to the full one, so ``phenom.nets.train`` and
``phenom.nets.training.train`` both resolve. Modules whose names start with an underscore are
internal: they are documented on pages of their own under "Internals", because the public
documentation refers to some of their names.

The hook :func:`escape_bars` lets docstrings write absolute values as ``|x|`` (reST would read
them as substitutions).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

PACKAGE = "phenom"
OUT = Path(__file__).resolve().parents[1] / "api" / "generated"
ROLE = re.compile(r":(?:py:)?(?:func|data|obj|class|meth|attr|const|exc):`~?\.?([A-Za-z_][\w.]*)`")


def all_modules() -> list[str]:
    """Every module of phenom, in dotted-name order."""
    package = importlib.import_module(PACKAGE)
    return sorted([PACKAGE] + [m.name for m in pkgutil.walk_packages(package.__path__, PACKAGE + ".")])


def is_internal(name: str) -> bool:
    return any(part.startswith("_") for part in name.split("."))


def bound_here(module) -> list[str]:
    """Names bound at the module's top level by def, class or assignment (not by import), in order."""
    tree = ast.parse(Path(inspect.getsourcefile(module)).read_text())
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names += [t.id for t in elements if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in dict.fromkeys(names) if not n.startswith("__")]


def exported(module) -> list[str]:
    """The module's public names: its ``__all__``, or else the public names it binds."""
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if n != "__version__"]
    return [n for n in bound_here(module) if not n.startswith("_")]


def binders(modules: list[str]) -> dict[tuple[str, int], str]:
    """(name, id of its value) → the first module that binds it at its top level."""
    found: dict[tuple[str, int], str] = {}
    for name in modules:
        module = importlib.import_module(name)
        for item in bound_here(module):
            found.setdefault((item, id(getattr(module, item, None))), name)
    return found


def docstrings(value) -> str:
    """The docstrings of an object and, for a class, of its members."""
    parts = [inspect.getdoc(value) or ""]
    if inspect.isclass(value):
        parts += [inspect.getdoc(v) or "" for v in vars(value).values() if callable(v) or isinstance(v, property)]
    return "\n".join(parts)


def annotation_names(value) -> set[str]:
    """Bare names in the signature annotations of a function or of a class's methods."""
    found: set[str] = set()
    functions = [value] if callable(value) and not inspect.isclass(value) else []
    if inspect.isclass(value):  # its methods and those it inherits from phenom's classes
        for cls in value.__mro__:
            if cls.__module__.startswith(PACKAGE):
                functions += [v for v in vars(cls).values() if inspect.isfunction(v)]
    for f in functions:
        for text in getattr(f, "__annotations__", {}).values():
            found |= set(re.findall(r"[A-Za-z_]\w*", text if isinstance(text, str) else repr(text)))
    return found


def referenced(module, documented: list[str]) -> list[str]:
    """Public names the module binds but does not export, which its documentation refers to."""
    text = (inspect.getdoc(module) or "") + "\n".join(docstrings(getattr(module, n)) for n in documented)
    text += "\n".join("\n".join(doc) for doc in attribute_docs(module.__name__).values())
    wanted = {m.rpartition(".")[2] for m in ROLE.findall(text) if m.count(".") == 0 or m.startswith(module.__name__)}
    typed: set[str] = set()
    for item in documented:
        typed |= annotation_names(getattr(module, item))
    return [
        n for n in bound_here(module) if n not in documented and ((n in wanted and not n.startswith("_")) or n in typed)
    ]


def directive(value) -> str:
    if inspect.isclass(value):
        return "autoexception" if issubclass(value, BaseException) else "autoclass"
    if inspect.isroutine(value) or type(value).__name__ in ("CPUDispatcher", "Dispatcher"):
        return "autofunction"
    return "autodata"


ABBREVIATIONS = {"Sec", "Fig", "Eq", "al", "e.g", "i.e", "cf", "vs", "Ch", "Thm"}


def summary(value) -> str:
    """The first sentence of a docstring as plain text (roles become literals)."""
    doc = inspect.getdoc(value) if not isinstance(value, (int, float, str, tuple, dict, list)) else None
    first = (doc or "").split("\n\n")[0].replace("\n", " ")
    for end in re.finditer(r"[.!?](?=\s+[A-Z(])", first):  # the first full stop that ends a sentence
        if first[: end.start()].rsplit(" ", 1)[-1] not in ABBREVIATIONS:
            first = first[: end.end()]
            break
    first = re.sub(r":\w+:`~?\.?([^`]*)`", r"``\1``", first)
    return escape_text(first).replace("*", r"\*") if first else ""


def data(module, item: str, binder: str) -> list[str]:
    """A module-level value: its repr when short, and the doc comment or string that follows its
    assignment in the module that binds it (not the docstring of its type)."""
    value = getattr(module, item)
    lines = [f".. py:data:: {item}"]
    if len(repr(value)) <= 60:
        lines.append(f"   :value: {repr(value)}")
    doc = attribute_docs(binder).get(("", item), [])
    return lines + [""] + [f"   {escape_text(line)}" if line else "" for line in doc] + [""]


def attribute_docs(name: str) -> dict[tuple[str, str], list[str]]:
    """The doc comments and strings that follow assignments in a module's source (none where
    Sphinx, which reads them, is not installed: the tests check the pages' other content)."""
    try:
        from sphinx.pycode import ModuleAnalyzer

        return dict(ModuleAnalyzer.for_module(name).find_attr_docs())
    except Exception:  # no Sphinx, or no source to read
        return {}


def phenom_bases(value) -> bool:
    """Whether a class inherits from another of phenom's classes (whose methods it shows too)."""
    return any(c.__module__.startswith(PACKAGE) for c in value.__mro__[1:])


def described(module, own: list[str], binder: dict[tuple[str, int], str]) -> list[str]:
    """The directives that describe ``own`` in full."""
    lines: list[str] = []
    for item in own:
        value = getattr(module, item)
        kind = directive(value)
        if kind == "autodata":
            lines += data(module, item, binder.get((item, id(value)), module.__name__))
            continue
        lines.append(f".. {kind}:: {item}")
        if kind in ("autoclass", "autoexception"):
            lines.append("   :members:")
            if phenom_bases(value):
                lines.append("   :inherited-members:")
            outside = [n for n, v in vars(value).items() if callable(v) and not _phenom_code(v)]
            if outside:
                lines.append(f"   :exclude-members: {', '.join(outside)}")
        lines.append("")
    return lines


def _phenom_code(value) -> bool:
    """Whether a class member is phenom's own code (not generated by matplotlib, say)."""
    return getattr(value, "__module__", PACKAGE).startswith(PACKAGE)


def alias(module, item: str, home: str) -> list[str]:
    """A short entry for a name re-exported from ``home``: a target that links to the full one."""
    value = getattr(module, item)
    kind = {"autoclass": "py:class", "autoexception": "py:exception", "autofunction": "py:function"}
    signature = plain_signature(value) if directive(value) == "autofunction" else ""
    lines = [f".. {kind.get(directive(value), 'py:data')}:: {item}{signature}", "   :no-index-entry:", ""]
    return lines + [f"   The same object as :obj:`{home}.{item}` (defined there, exported here too).", ""]


def plain_signature(function) -> str:
    """A function's parameters and defaults without annotations (the full entry has those)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return ""
    empty = inspect.Parameter.empty
    parameters = [p.replace(annotation=empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=parameters, return_annotation=empty))


def page(name: str, modules: list[str], binder: dict[tuple[str, int], str]) -> str:
    """The reST of one module's page."""
    module = importlib.import_module(name)
    names = exported(module)
    home = binder
    own = [n for n in names if home.get((n, id(getattr(module, n)))) == name]
    own += referenced(module, own)
    lines = [name, "=" * len(name), "", f".. automodule:: {name}", "   :no-members:", ""]
    # names exported from outside phenom (matplotlib's colormaps, say) are left to their own project
    names = [
        n for n in names if n in own or (n, id(getattr(module, n))) in home or inspect.ismodule(getattr(module, n))
    ]
    table = [n for n in names if not inspect.ismodule(getattr(module, n))] + [n for n in own if n not in names]
    if table:
        lines += [".. list-table::", "   :widths: 30 70", ""]
        for item in table:
            value = getattr(module, item)
            where = name if item in own else home[(item, id(value))]
            lines += [f"   * - :obj:`~{where}.{item}`", f"     - {summary(value) or ' '}"]
        lines.append("")
    lines += described(module, own, binder)
    for item in (n for n in names if n not in own):
        value = getattr(module, item)
        if inspect.ismodule(value):
            continue
        lines += alias(module, item, home[(item, id(value))])
    children = [m for m in modules if m.rpartition(".")[0] == name]
    if children:
        lines += [".. rubric:: Submodules", "", ".. toctree::", "   :maxdepth: 1", ""]
        lines += [f"   {child}" for child in children] + [""]
    return "\n".join(lines)


def write_pages(app=None) -> list[Path]:
    """Write every page into docs/api/generated/, leaving a file alone when its text is unchanged
    (so Sphinx rereads only what changed), and remove pages of modules that no longer exist."""
    modules = all_modules()
    binder = binders(modules)
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for name in modules:
        path = OUT / f"{name}.rst"
        text = page(name, [m for m in modules if is_internal(m) == is_internal(name)], binder)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    internals = [m for m in modules if is_internal(m) and not is_internal(m.rpartition(".")[0])]
    index = ["Internals", "=========", "", INTERNALS, "", ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {m}" for m in internals]
    path = OUT / "internals.rst"
    text = "\n".join(index) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    written.append(path)
    for stale in set(OUT.glob("*.rst")) - set(written):
        stale.unlink()
    return written


INTERNALS = """\
The modules below are not part of the public interface (their names start with an underscore)
and may change without notice. They are documented because the public documentation refers to
some of their names: the atomic writes and code versions of :mod:`phenom._io`, the argument
checks of :mod:`phenom._validate`, the compiled integrator, the softmax primitives of the
derivation, the settings' base class."""


_LITERAL = re.compile(r"(``.*?``|`[^`]*`)")
_BARS = re.compile(r"(?<![\\\w])\|(?=\S)([^|]*?\S)\|")


def escape_text(text: str) -> str:
    """``|x|`` outside literals and roles becomes ``\\|x\\|``: an absolute value, not a substitution."""
    parts = _LITERAL.split(text)
    return "".join(p if i % 2 else _BARS.sub(r"\\|\1\\|", p) for i, p in enumerate(parts))


def escape_bars(app, what, name, obj, options, lines: list[str]) -> None:
    """autodoc hook: docstrings write absolute values and norms as ``|x|``, ``‖x‖``; keep them text."""
    lines[:] = [escape_text(line) for line in lines]


def dataclass_defaults(app, what, name, obj, options, signature, return_annotation):
    """A dataclass field made by ``default_factory`` shows as ``<factory>``, which is not Python
    (Sphinx then splits the signature at every comma): show the factory's call instead."""
    fields = getattr(obj, "__dataclass_fields__", None)
    if not signature or not fields or "<factory>" not in signature:
        return None
    for field in fields.values():
        factory = getattr(field.default_factory, "__name__", None)
        if factory is not None and "<factory>" in signature:
            signature = signature.replace("<factory>", f"{factory}()", 1)
    return signature, return_annotation


def setup(app):
    app.connect("builder-inited", write_pages)
    app.connect("autodoc-process-signature", dataclass_defaults)
    app.connect("autodoc-process-docstring", escape_bars, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
