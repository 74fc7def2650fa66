"""Native tests, no Wasm: ``python3 -m unittest``. Every input in samples/ must give
its .expected.json byte for byte, every input in samples/invalid/ its .error.txt
(``RATCHET_UPDATE_GOLDEN=1 python3 -m unittest`` rewrites them; review the diff)."""

%%PY_TEST_IMPORTS%%
from ratchet_sdk.testing import %%KIND%%_runner, golden_samples  # noqa: E402
from plugin import %%TYPE%%  # noqa: E402


class GoldenTest(unittest.TestCase):
    def test_samples_match_expected_output(self):
        golden_samples(HERE / "samples", 1, %%KIND%%_runner(%%TYPE%%()))


if __name__ == "__main__":
    unittest.main()
