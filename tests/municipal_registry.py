"""A property registry of the inquiry tests' own (issue 10, «استعلام ادارات/ ترهین»), shared by
the integration and browser tests: a code in debt, one free of debt with an attorney and two
certificates, one with none, and another citizen's. National codes are the sandbox people's."""

from pathlib import Path

from relying_parties import MARYAM, MOHAMMADREZA

ALI, MARYAM_CODE = "0499370899", MARYAM["national_code"]
REGISTRY = f"""
[[property]]
renovation_code = "10-123-456-7"
address = "تهران، خیابان فاطمی، پلاک ۱۲"
owners = ["{ALI}"]
dues_rials = 18500000
[[property.request]]
number = "1401-55871"
certificate = "گواهی پایان کار"
issued = "1401/05/12"

[[property]]
renovation_code = "10-123-456-8"
address = "تهران، خیابان ولیعصر، پلاک ۴"
owners = ["{ALI}"]
attorneys = ["{MARYAM_CODE}"]
[[property.request]]
number = "1398-301"
certificate = "گواهی پایان کار"
issued = "1398/02/01"
[[property.request]]
number = "1402-10044"
certificate = "گواهی انتقال آپارتمان"
issued = "1402/09/03"
[[property.request]]
number = "1403-9"

[[property]]
renovation_code = "22-700-015-1"
address = "تهران، بلوار دریا، بلوک ب"
owners = ["{ALI}"]
[[property.request]]
number = "1403-2210"

[[property]]
renovation_code = "05-900-300-2"
address = "تهران، شهرک غرب، پلاک ۹"
owners = ["{MOHAMMADREZA['national_code']}"]
[[property.request]]
number = "1400-7781"
certificate = "گواهی پایان کار"
issued = "1400/11/20"
"""


def use_registry(tmp_path: Path, monkeypatch) -> None:
    """The app started next reads :data:`REGISTRY` (``MUNICIPAL_MUNICIPAL_REGISTRY_PATH``)."""
    registry = tmp_path / "registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_REGISTRY_PATH", str(registry))
