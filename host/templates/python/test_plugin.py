"""Native tests, no Wasm: ``python3 -m unittest``. Every input in samples/ must give
its .expected.json byte for byte, every input in samples/invalid/ its .error.txt
(``RATCHET_UPDATE_GOLDEN=1 python3 -m unittest`` rewrites them; review the diff)."""

import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    import ratchet_sdk  # noqa: F401  (installed, or on PYTHONPATH)
except ImportError:  # else the SDK of the ratchet checkout this plugin was made from
    sys.path.insert(0, str((HERE / "%%SDK_PYTHON%%").resolve()))

from ratchet_sdk.testing import %%KIND%%_runner, golden_samples  # noqa: E402
from plugin import %%TYPE%%  # noqa: E402


class GoldenTest(unittest.TestCase):
    def test_samples_match_expected_output(self):
        golden_samples(HERE / "samples", 1, %%KIND%%_runner(%%TYPE%%()))


if __name__ == "__main__":
    unittest.main()
