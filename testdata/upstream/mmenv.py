"""Import shim for running upstream OpenMMLab code from source, without pip.

Fixture scripts under testdata/ start with ``import mmenv`` (run them with
this folder on PYTHONPATH, e.g. ``PYTHONPATH=testdata/upstream
/usr/bin/python3 testdata/x/gen.py``). It puts the upstream source trees on
sys.path and stubs the few third-party modules that mmpretrain imports at
module level but MobileOne, its data pipeline, metrics and training never
call (model-index loading, mmcv's compiled ops). A stubbed module raises if
anything in it is actually used, so a stub can never change a number.

Upstream commits these shims were written against (set MMENV_ROOT to the
folder holding the extracted trees; default /work/upstream):

    mmpretrain   ee7f2e88501f61aa95c742dd5f429f039935ee90  (1.2.0)
    mmengine     254342938d9bde1775c39ea7d5181c5d294026c4
    mmcv         a8073c74bf83d62ec36a103f835faa4837fb6585  (2.2.0, pure Python)
    addict       75284f9593dfb929cadd900aff9e35e7c7aec54b

Python packages from Debian: python3-torch (1.13), python3-numpy,
python3-opencv, python3-yaml, python3-termcolor, python3-rich, python3-yapf,
python3-packaging, python3-matplotlib, python3-scipy, python3-pil.

On a CPU with AVX-512 the scripts should run with
ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell so that the numbers match
those made on AVX2-only machines; ``check_isa()`` warns when they are unset.
"""
import os
import sys
import types
import warnings

ROOT = os.environ.get("MMENV_ROOT", "/work/upstream")
TREES = ["addict", "mmengine", "mmcv", "mmpretrain"]

for _name in reversed(TREES):
    _p = os.path.join(ROOT, _name)
    if not os.path.isdir(_p):
        raise SystemExit(f"mmenv: {_p} is missing: extract upstream {_name} there (see mmenv.py)")
    if _p not in sys.path:
        sys.path.insert(0, _p)


class _Unavailable(types.ModuleType):
    """A module that exists for import but fails loudly when used."""

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        # A class stands in for any name: it can be imported, subclassed and
        # named in annotations, and fails when it is called or instantiated.
        where = f"{self.__name__}.{attr}"

        def _fail(*a, **k):
            raise RuntimeError(f"mmenv: {where} is stubbed out (not available here)")

        placeholder = type(attr, (), {"__init__": _fail, "__module__": self.__name__})
        setattr(self, attr, placeholder)
        return placeholder


def _stub(name, **attrs):
    if name in sys.modules:
        return sys.modules[name]
    try:
        __import__(name)
        return sys.modules[name]
    except ImportError:
        pass
    mod = _Unavailable(name)
    mod.__path__ = []  # a package, so submodules can be stubbed too
    for k, v in attrs.items():
        setattr(mod, k, v)
    sys.modules[name] = mod
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, mod)
    return mod


def _load_model_index(*a, **k):
    raise RuntimeError("mmenv: modelindex is stubbed out (model-index lookups are not available)")


# Imported at module level by backbones and heads that MobileOne never uses.
for _m in ["einops", "einops.layers", "einops.layers.torch", "mat4py"]:
    _stub(_m)

_stub("modelindex")
_stub("modelindex.load_model_index", load=_load_model_index)
_stub("modelindex.models")
_stub("modelindex.models.Model", Model=object)
_stub("modelindex.models.ModelIndex", ModelIndex=object)


def check_isa():
    """Warn when the AVX2 numerics settings are missing."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA") != "AVX2" or os.environ.get("OPENBLAS_CORETYPE") != "Haswell":
        warnings.warn("mmenv: set ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell so the numbers match AVX2-only machines")
