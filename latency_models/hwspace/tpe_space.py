"""The TPE hardware space: engine kind, array shape, dataflow, precision, digit encoding and bit-weight options.

Decisions, in order (each a :class:`~hwnas.latency_models.hwspace.space.HwChoice` with its own α):

- ``kind``: ``systolic``, ``cube``, ``tree``, ``matrix``, ``bitserial`` (the engines of ``tpe:`` targets);
- ``dims/<kind>``: the array shape, one decision per kind, applying only to that kind (``RxC``, ``XxYxZ``
  for the cube, ``KtxNt`` for the tree);
- ``dataflow``: ``os``, ``ws``, ``is``, applying to systolic arrays only;
- ``precision``: ``int4``, ``int8``, ``int16``, ``fp16``;
- ``encoding``: the digit encoding of the Booth-encoded operand (``BitWeightConfig.encoding``); the list is
  data, checked against what the bit-weight model accepts, so a new encoding needs no code here;
- ``opt1`` .. ``opt4`` (those listed in ``options``): each a boolean. ``opt3`` (temporal bit-weight loop)
  does not apply to the bit-serial engine, which always runs it; ``opt4`` (a column's shared sparse encoder)
  applies only where ``opt3`` is on (when ``opt3`` is not a decision: to the bit-serial engine only, as its
  ``column_encoder``).

Decisions with one value are kept (they fix a setting and cost nothing), so a space of one configuration
is a fixed accelerator: the same search then finds the best network for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hwnas.api import HARDWARE_SPACES, UserError
from hwnas.latency_models.hwspace.space import HardwareSpace, HardwareSpaceError, HwChoice
from hwnas.latency_models.tpe import BitWeightConfig, Precision, tpe_from_name

KINDS: tuple[str, ...] = ("systolic", "cube", "tree", "matrix", "bitserial")
_NDIMS = {"systolic": 2, "cube": 3, "tree": 2, "matrix": 2, "bitserial": 2}
DEFAULT_DIMS: dict[str, tuple[str, ...]] = {
    "systolic": ("8x8", "16x16"), "cube": ("4x4x4", "8x8x4"), "tree": ("8x8", "16x16"),
    "matrix": ("8x8", "16x16"), "bitserial": ("8x8", "16x16"),
}
DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")
PRECISIONS: tuple[str, ...] = ("int4", "int8", "int16", "fp16")
OPTIONS: dict[str, str] = {"opt1": "opt1_carry_save", "opt2": "opt2_shared_encoding", "opt3": "opt3_temporal",
                           "opt4": "opt4_column_encoder"}


def _check_subset(what: str, given: Sequence[Any], known: Sequence[Any]) -> tuple[Any, ...]:
    given = tuple(given)
    if not given:
        raise HardwareSpaceError(f"hardware space: '{what}' is empty; list at least one of {', '.join(known)}")
    bad = [g for g in given if g not in known]
    if bad:
        raise HardwareSpaceError(f"hardware space: unknown {what} {bad}; known: {', '.join(known)}")
    return given


def _check_encodings(encodings: Sequence[str]) -> tuple[str, ...]:
    encodings = tuple(encodings)
    if not encodings:
        raise HardwareSpaceError("hardware space: 'encodings' is empty; list at least one (e.g. booth4)")
    for e in encodings:
        try:  # whatever the bit-weight model accepts is a valid value: no list to keep in step here
            BitWeightConfig(precision=Precision.named("int8"), encoding=e).digit_stats()
        except (UserError, ValueError, KeyError) as err:
            raise HardwareSpaceError(f"hardware space: encoding {e!r} is not supported by the bit-weight model "
                                     f"({err})") from None
    return encodings


@HARDWARE_SPACES.register("tpe")
class TpeHardwareSpace(HardwareSpace):
    """A space of tensor-processing engines (registered as ``tpe`` in :data:`hwnas.api.HARDWARE_SPACES`).

    Args:
        kinds: Engine kinds to choose from (see the module docstring).
        dims: Per kind, the array shapes to choose from (default :data:`DEFAULT_DIMS`).
        dataflows: Systolic dataflows to choose from.
        precisions: Operand precisions to choose from.
        encodings: Digit encodings of the encoded operand (``booth4``; any the bit-weight model accepts).
        options: Which bit-weight optimisations are decisions (each on or off).
        always_on: Bit-weight optimisations that are on in every configuration (not decisions); the ones in
            neither list stay off. A space with one value per decision is a fixed accelerator.
        sram_kb: SRAM sizes (ifmap, filter, ofmap) in KB, the same for every configuration.
        freq_mhz: Baseline clock (None: the technology table's).
        alpha_init_std: α starts near uniform.

    Example:
        >>> hw = TpeHardwareSpace(kinds=("systolic", "cube"), dims={"systolic": ("8x8",), "cube": ("4x4x4",)},
        ...                       dataflows=("ws",), options=())
        >>> [hw.build_engine(c).name for c in hw.configs]
        ['systolic-8x8-ws-int8', 'cube-4x4x4-int8']
    """

    space_name = "tpe"

    def __init__(self, *, kinds: Sequence[str] = KINDS, dims: Mapping[str, Sequence[str]] | None = None,
                 dataflows: Sequence[str] = DATAFLOWS, precisions: Sequence[str] = ("int8",),
                 encodings: Sequence[str] = ("booth4",), options: Sequence[str] = ("opt1", "opt2"),
                 always_on: Sequence[str] = (), sram_kb: Sequence[float] = (64.0, 64.0, 64.0),
                 freq_mhz: float | None = None, alpha_init_std: float = 1e-3) -> None:
        kinds = _check_subset("kinds", kinds, KINDS)
        dims = {k: tuple(v) for k, v in (dims or {}).items()}
        unknown = [k for k in dims if k not in kinds]
        if unknown:
            raise HardwareSpaceError(f"hardware space: dims given for kind(s) {unknown} that are not in kinds "
                                     f"{list(kinds)}")
        dims = {k: dims.get(k, DEFAULT_DIMS[k]) for k in kinds}
        for k, shapes in dims.items():
            if not shapes:
                raise HardwareSpaceError(f"hardware space: dims of {k!r} is empty; give at least one shape")
            for s in shapes:
                parts = str(s).split("x")
                if len(parts) != _NDIMS[k] or not all(p.isdigit() and int(p) > 0 for p in parts):
                    raise HardwareSpaceError(f"hardware space: {k} shape {s!r} must be {_NDIMS[k]} positive sizes "
                                             f"like {'x'.join(['16'] * _NDIMS[k])}")
        dataflows = _check_subset("dataflows", dataflows, DATAFLOWS) if "systolic" in kinds else ()
        precisions = _check_subset("precisions", precisions, PRECISIONS)
        encodings = _check_encodings(encodings)
        options = tuple(options)
        bad = [o for o in options if o not in OPTIONS]
        if bad:
            raise HardwareSpaceError(f"hardware space: unknown option(s) {bad}; known: {', '.join(OPTIONS)}")
        always_on = tuple(always_on)
        bad = [o for o in always_on if o not in OPTIONS or o in options]
        if bad:
            raise HardwareSpaceError(f"hardware space: always_on option(s) {bad} must be known ({', '.join(OPTIONS)}) "
                                     "and not also decisions in options")
        if len(tuple(sram_kb)) != 3 or min(float(x) for x in sram_kb) <= 0:
            raise HardwareSpaceError(f"hardware space: sram_kb must be three positive sizes in KB, got {sram_kb}")
        self.space_kwargs = {"kinds": list(kinds), "dims": {k: list(v) for k, v in dims.items()},
                             "dataflows": list(dataflows), "precisions": list(precisions),
                             "encodings": list(encodings), "options": list(options), "always_on": list(always_on),
                             "sram_kb": [float(x) for x in sram_kb], "freq_mhz": freq_mhz}
        self._sram_kb = tuple(float(x) for x in sram_kb)
        self._always_on = always_on
        self._freq_mhz = freq_mhz
        decisions = [HwChoice("kind", kinds)]
        decisions += [HwChoice(f"dims/{k}", dims[k], when={"kind": (k,)}) for k in kinds]
        if dataflows:
            decisions.append(HwChoice("dataflow", dataflows, when={"kind": ("systolic",)}))
        decisions += [HwChoice("precision", precisions), HwChoice("encoding", encodings)]
        for o in sorted(options):
            when: dict[str, tuple[Any, ...]] = {}
            if o == "opt3":
                when = {"kind": tuple(k for k in kinds if k != "bitserial")}
            elif o == "opt4":
                when = self._opt4_when(options, kinds)
            decisions.append(HwChoice(o, (False, True), when=when))
        super().__init__(decisions, alpha_init_std=alpha_init_std)

    @staticmethod
    def _opt4_when(options: Sequence[str], kinds: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        # opt4 shares opt3's sparse encoder: without opt3 it has nothing to share, except on the bit-serial
        # engine, which always runs the temporal loop (there opt4 is its column encoder).
        if "opt3" in options:
            return {"opt3": (True,)}
        if "bitserial" in kinds:
            return {"kind": ("bitserial",)}
        raise HardwareSpaceError("hardware space: option opt4 shares opt3's sparse encoder; add opt3 to options or "
                                 "the bitserial kind")

    def build_engine(self, config: Mapping[str, Any]) -> Any:
        """The TPE engine of one configuration (``tpe_from_name`` with the bit-weight settings)."""
        kind = config["kind"]
        name = f"{kind}-{config[f'dims/{kind}']}"
        if kind == "systolic":
            name += f"-{config['dataflow']}"
        name += f"-{config['precision']}"
        flags = {OPTIONS[o]: bool(config.get(o, False)) for o in OPTIONS if o in config}
        flags.update({OPTIONS[o]: True for o in self._always_on})
        bw = BitWeightConfig(precision=Precision.named(config["precision"]), encoding=config["encoding"], **flags)
        kw: dict[str, Any] = {"sram_kb": self._sram_kb, "bitweight": bw}
        if self._freq_mhz is not None:
            kw["freq_mhz"] = float(self._freq_mhz)
        if kind == "bitserial" and "opt4" in config:
            kw["column_encoder"] = bool(config["opt4"])
        return tpe_from_name(name, **kw)
