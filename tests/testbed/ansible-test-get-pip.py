"""Offline stand-in for the get-pip script ansible-test downloads (its host is unreachable here).

ansible-test runs it as `python get_pip.py [pip options] pip==X ...` inside a fresh virtual
environment; the standard library's ensurepip does the bootstrap, then pip installs the exact
version ansible-test asked for from the package index this machine reaches.
"""

import ensurepip
import subprocess
import sys

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

ensurepip.bootstrap(upgrade=True)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--cert", CA_BUNDLE, *args])
