import subprocess
import sys


def test_import_does_not_load_torch():
    code = "import sys, vismic, vismic.magnify; from vismic.magnify import magnify, Magnify, MagNetConfig; " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
