"""_native.pyi and the extension's own signatures (the first line of each docstring, CPython's __text_signature__)
describe the same functions, methods and parameters: a change to one without the other fails here."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from swiftgan import _native

STUB = Path(_native.__file__).with_name("_native.pyi")
if not STUB.exists():  # an installed package keeps its stub beside the extension; a source tree beside the package
    STUB = Path(__file__).resolve().parents[1] / "swiftgan" / "_native.pyi"


def stub_functions() -> dict[str, ast.FunctionDef]:
    """Every function and method of the stub, by qualified name ("op", "Model.train_step")."""
    tree = ast.parse(STUB.read_text())
    found: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                decorated = {getattr(d, "attr", getattr(d, "id", None)) for d in getattr(item, "decorator_list", [])}
                if isinstance(item, ast.FunctionDef) and not decorated & {"property", "setter"}:
                    found[f"{node.name}.{item.name}"] = item
    return found


def stub_parameters(node: ast.FunctionDef) -> list[tuple[str, str, object]]:
    """(name, kind, default) of each parameter, without self."""
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(args.defaults)) + [
        ast.literal_eval(d) for d in args.defaults]
    result = []
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        kind = "POSITIONAL_ONLY" if index < len(args.posonlyargs) else "POSITIONAL_OR_KEYWORD"
        result.append((arg.arg, kind, default))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        result.append((arg.arg, "KEYWORD_ONLY", inspect.Parameter.empty if default is None else
                       ast.literal_eval(default)))
    return [entry for entry in result if entry[0] != "self"]


def native_callables() -> dict[str, object]:
    """Every public function of the module and method of its classes, by qualified name."""
    found: dict[str, object] = {}
    for name, value in vars(_native).items():
        if name.startswith("_"):
            continue
        if inspect.isbuiltin(value):
            found[name] = value
        elif isinstance(value, type) and not issubclass(value, BaseException):
            for attribute, member in vars(value).items():
                if inspect.ismethoddescriptor(member) and not attribute.startswith("_"):
                    found[f"{name}.{attribute}"] = member
            if value.__text_signature__ is not None:
                found[f"{name}.__init__"] = value
    return found


def test_the_stub_names_every_function_and_method() -> None:
    assert set(native_callables()) == set(stub_functions())


@pytest.mark.parametrize("name", sorted(native_callables()))
def test_each_signature_matches_the_stub(name) -> None:
    native = inspect.signature(native_callables()[name])
    got = [(p.name, p.kind.name, p.default) for p in native.parameters.values() if p.name != "self"]
    assert got == stub_parameters(stub_functions()[name]), name


def test_properties_match_the_stub() -> None:
    tree = ast.parse(STUB.read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and hasattr(_native, node.name) and node.name != "SwiftGANError":
            stubbed = {item.name for item in node.body if isinstance(item, ast.FunctionDef)} | {
                item.target.id for item in node.body if isinstance(item, ast.AnnAssign)}
            native = {attribute for attribute, member in vars(getattr(_native, node.name)).items()
                      if inspect.isgetsetdescriptor(member)}
            assert native <= stubbed, node.name
