"""The smtp scenario's outside world: an SMTP server that accepts mail only after AUTH with the
credentials in SINK_USERNAME and SINK_PASSWORD and keeps every message in a Maildir; it refuses
for good the recipients whose local part is "refused", so that the relay has to bounce."""

import os
import signal
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

CREDENTIALS = (os.environ["SINK_USERNAME"].encode(), os.environ["SINK_PASSWORD"].encode())


class Sink(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].lower() == "refused":
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == CREDENTIALS
    return AuthResult(success=good, handled=False)


def main(maildir):
    for folder in ("tmp", "new", "cur"):  # Mailbox fails on a folder without them
        os.makedirs(os.path.join(maildir, folder), exist_ok=True)
    controller = Controller(
        Sink(maildir),
        hostname="0.0.0.0",
        port=25,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,  # the sink has no certificate; this is a test network
    )
    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # before the server thread starts, which inherits it
    controller.start()
    signal.sigwait(stop)
    controller.stop()


if __name__ == "__main__":
    main(sys.argv[1])
