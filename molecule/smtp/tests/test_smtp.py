"""What a cloud service and an operator expect of the mail relay, asked with real SMTP from this
machine (smtplib and swaks) and checked where the mail lands: the sink's Maildir, the relay's
journal, the controller's secrets folder."""

import os
import pathlib
import re
import smtplib
import ssl
import subprocess
import time
import uuid

import pytest

from tests.common import run_in

RELAY, SINK = "infn-mol-smtp-relay", "infn-mol-smtp-sink"
ADDRESS = "10.99.27.10"
HOSTNAME = "infn-mol-smtp-relay.cloud.example.test"
# The machine's address on the sink's network: a client of its own for the rate limit, whose
# counter the other tests (from 10.99.27.1) do not touch.
OTHER_CLIENT = "10.99.28.1"
RATE_LIMIT, RATE_TIME_UNIT = 20, 60
OUTSIDE = "someone@outside.example.invalid"
JOBS, PORTAL, GIVEN = "jobs@cloud.example.test", "portal@cloud.example.test", "given@cloud.example.test"
# A login with a per-login limit of its own (recipients per window), in molecule.yml.
BULK, BULK_RATE_LIMIT, LOGIN_RATE_WINDOW = "bulk@cloud.example.test", 3, 60
# The sink refuses this recipient for good (sink.py): the relay must bounce the message.
REFUSED = "refused@outside.example.invalid"
GIVEN_PASSWORD = "given-password-of-the-scenario"
RELAYHOST_PASSWORD = "sink-password-of-the-scenario"
SECRETS = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
SCENARIO = pathlib.Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])


def on_host(host, *command, check=True):
    return run_in(host, *command, check=check)


def password(login):
    return (SECRETS / "smtp_relay/accounts" / login).read_text().strip()


@pytest.fixture(scope="module")
def tls():
    """A client context that trusts only the certificate the role installed on the relay.

    Clients here connect by address, so the name is checked by test_the_certificate_names_the_relay.
    """
    certificate = on_host(RELAY, "cat", "/etc/postfix/tls/smtp_relay.crt").stdout
    context = ssl.create_default_context(cadata=certificate)
    context.check_hostname = False
    return context


def submission(tls, port=587, source=None):
    """A connection to the relay's submission port, under TLS, not yet authenticated."""
    source_address = (source, 0) if source else None
    if port == 465:
        client = smtplib.SMTP_SSL(ADDRESS, 465, context=tls, timeout=20)
    else:
        client = smtplib.SMTP(ADDRESS, port, timeout=20, source_address=source_address)
        client.starttls(context=tls)
    client.ehlo("client.cloud.example.test")
    return client


def message(sender, subject):
    return f"From: {sender}\r\nTo: {OUTSIDE}\r\nSubject: {subject}\r\n\r\nJob finished.\r\n"


def delivered(token, timeout=30):
    """The sink's stored message carrying token, polled for up to timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = on_host(SINK, "grep", "-rlF", token, "/srv/sink/new", check=False)
        if found.returncode == 0:
            return on_host(SINK, "cat", found.stdout.split()[0]).stdout
        time.sleep(0.5)
    log = on_host(RELAY, "journalctl", "--no-pager", "-n", "20", "SYSLOG_FACILITY=2", check=False).stdout
    pytest.fail(f"{token} not in the sink after {timeout} s; the relay's mail log:\n{log}")


def token():
    return f"notice-{uuid.uuid4().hex}"


def test_authenticated_submission_with_starttls_reaches_the_sink(tls):
    subject = token()
    with submission(tls) as client:
        client.login(JOBS, password(JOBS))
        assert client.sendmail(JOBS, [OUTSIDE], message(JOBS, subject)) == {}
    stored = delivered(subject)
    # Relayed through the sink, which takes mail only with the relayhost credentials.
    assert f"X-MailFrom: {JOBS}" in stored
    assert f"X-RcptTo: {OUTSIDE}" in stored
    assert re.search(r"with ESMTPSA", stored), "the relay did not record an authenticated TLS submission"


def test_implicit_tls_on_465_and_a_second_sender_of_the_login(tls):
    subject = token()
    with submission(tls, port=465) as client:
        assert "auth" in client.esmtp_features
        client.login(JOBS, password(JOBS))
        client.sendmail("noreply@cloud.example.test", [OUTSIDE], message("noreply@cloud.example.test", subject))
    assert "X-MailFrom: noreply@cloud.example.test" in delivered(subject)


@pytest.mark.parametrize("port", [587, 465])
def test_swaks_with_a_given_password(port):
    subject = token()
    tls = ["--tls"] if port == 587 else ["--tls-on-connect"]
    run = subprocess.run(
        ["swaks", "--server", ADDRESS, "--port", str(port), *tls, "--auth", "PLAIN", "--auth-user", GIVEN,
         "--auth-password", GIVEN_PASSWORD, "--from", GIVEN, "--to", OUTSIDE, "--header", f"Subject: {subject}",
         "--timeout", "20"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    assert "235 2.7.0 Authentication successful" in run.stdout
    delivered(subject)


@pytest.mark.parametrize("port", [587, 465])
def test_the_certificate_names_the_relay(tls, port):
    with submission(tls, port=port) as client:
        assert client.sock.getpeercert()["subjectAltName"] == (("DNS", HOSTNAME),)
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")


def test_no_auth_before_starttls():
    with smtplib.SMTP(ADDRESS, 587, timeout=20) as client:
        client.ehlo("client.cloud.example.test")
        assert "starttls" in client.esmtp_features
        assert "auth" not in client.esmtp_features
        code, reply = client.docmd("AUTH", "PLAIN AGpvYnNAY2xvdWQuZXhhbXBsZS50ZXN0AHdyb25n")
        assert code == 530, reply
        code, reply = client.docmd("MAIL", f"FROM:<{JOBS}>")
        assert code == 530 and b"STARTTLS" in reply


def test_port_25_never_offers_auth(tls):
    with smtplib.SMTP(ADDRESS, 25, timeout=20) as client:
        client.starttls(context=tls)
        client.ehlo("client.cloud.example.test")
        assert "auth" not in client.esmtp_features


@pytest.mark.parametrize("recipient", [OUTSIDE, "postmaster@cloud.example.test"])
def test_port_25_relays_for_nobody(tls, recipient):
    with smtplib.SMTP(ADDRESS, 25, timeout=20) as client:
        client.starttls(context=tls)
        client.ehlo("client.cloud.example.test")
        client.mail(JOBS)
        code, reply = client.rcpt(recipient)
        assert code == 554 and b"Relay access denied" in reply, (code, reply)


def test_submission_without_auth_relays_nothing(tls):
    with submission(tls) as client:
        client.mail(JOBS)
        code, reply = client.rcpt(OUTSIDE)
        assert code == 554, (code, reply)


@pytest.mark.parametrize("sender", [PORTAL, "someone@cloud.example.test", OUTSIDE])
def test_a_login_cannot_use_senders_not_its_own(tls, sender):
    with submission(tls) as client:
        client.login(JOBS, password(JOBS))
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(sender, [OUTSIDE], message(sender, token()))
    code, reply = refused.value.recipients[OUTSIDE]
    assert code == 553 and b"not owned by user" in reply, (code, reply)


@pytest.mark.parametrize("port", [587, 465])
def test_a_login_cannot_send_with_the_null_sender(tls, port):
    """MAIL FROM:<> is for bounces, which the relay makes itself: a login using it would send
    with no sender of its own and escape the sender-login rule."""
    with submission(tls, port=port) as client:
        client.login(JOBS, password(JOBS))
        client.mail("")  # smtplib sends MAIL FROM:<>
        code, reply = client.rcpt(OUTSIDE)
    assert code == 553, (code, reply)
    assert reply.startswith(b"5.7.1 <>: Sender address rejected: a login must send from an address of its own"), reply


def test_the_relay_still_bounces_mail_the_world_refuses(tls):
    """The relay's own bounces (null sender, made by Postfix, not submitted) still go out."""
    subject = token()
    with submission(tls) as client:
        client.login(JOBS, password(JOBS))
        assert client.sendmail(JOBS, [REFUSED], message(JOBS, subject)) == {}
    bounce = delivered(subject)  # the sink refused the message itself: what it kept is the bounce
    assert re.search(r"^X-MailFrom: ?(<>)?$", bounce, re.M), bounce[:1500]
    assert f"X-RcptTo: {JOBS}" in bounce
    assert "Undelivered Mail Returned to Sender" in bounce and REFUSED in bounce


def test_a_login_past_its_rate_limit_is_deferred_but_not_another_login_of_the_same_address(tls):
    """The per-login limit counts a login's recipients wherever it connects from; another login
    from the same client address is not held back by it."""

    def replies():
        """The replies to one recipient more than the limit, in one message."""
        with submission(tls) as client:
            client.login(BULK, password(BULK))
            client.mail(BULK)
            answers = [client.rcpt(f"reader-{n}@outside.example.invalid") for n in range(BULK_RATE_LIMIT + 1)]
            client.rset()
        return answers

    answers = replies()
    if answers[0][0] != 250:  # a run of this test within the last window: let it close
        time.sleep(LOGIN_RATE_WINDOW + 1)
        answers = replies()
    assert [code for code, _reply in answers] == [250] * BULK_RATE_LIMIT + [450], answers
    assert b"4.7.1" in answers[-1][1] and b"too much mail from this login, retry later" in answers[-1][1], answers[-1]

    subject = token()
    with submission(tls) as client:  # the same client address (this machine), another login
        client.login(JOBS, password(JOBS))
        assert client.sendmail(JOBS, [OUTSIDE], message(JOBS, subject)) == {}
    delivered(subject)


def test_exceeding_the_rate_limit_is_deferred(tls):
    """Up to the limit per time unit the relay takes mail from a client; then it defers (4xx)."""

    def replies():
        """The reply codes to MAIL FROM, up to the first that is not 250 (one past the limit at most)."""
        codes = []
        with submission(tls, source=OTHER_CLIENT) as client:
            client.login(PORTAL, password(PORTAL))
            while len(codes) <= RATE_LIMIT and (not codes or codes[-1] == 250):
                codes.append(client.mail(PORTAL)[0])
                client.rset()
        return codes

    codes = replies()
    if codes[0] != 250:  # a run of this test within the last time unit: let its window close
        time.sleep(RATE_TIME_UNIT + 1)
        codes = replies()
    assert codes == [250] * RATE_LIMIT + [450]


def test_secrets_kept_private_on_the_controller():
    folder = SECRETS / "smtp_relay"
    for path in (SECRETS, folder, folder / "accounts"):
        assert path.stat().st_mode & 0o777 == 0o700, path
    # Generated for the accounts without a password; the given one is not written anywhere.
    assert sorted(path.name for path in (folder / "accounts").iterdir()) == sorted([BULK, JOBS, PORTAL])
    for path in [*(folder / "accounts").iterdir(), folder / "salt_seed"]:
        assert path.stat().st_mode & 0o777 == 0o600, path
        assert re.fullmatch(r"[A-Za-z0-9]{32}", path.read_text().strip()), path


def test_the_relay_keeps_only_hashes():
    listing = on_host(
        RELAY, "stat", "-c", "%n %U:%G %a", "/etc/dovecot/smtp_relay.passwd", "/etc/postfix/sasl_passwd",
        "/etc/postfix/tls/smtp_relay.key",
    ).stdout.splitlines()  # fmt: skip
    assert listing == [
        "/etc/dovecot/smtp_relay.passwd root:dovecot 640",
        "/etc/postfix/sasl_passwd root:root 600",
        "/etc/postfix/tls/smtp_relay.key root:root 600",
    ]
    entries = on_host(RELAY, "cat", "/etc/dovecot/smtp_relay.passwd").stdout.splitlines()
    entries = [line.split(":", 1) for line in entries if not line.startswith("#")]
    assert sorted(login for login, _hash in entries) == sorted([BULK, JOBS, PORTAL, GIVEN])
    for _login, stored in entries:
        assert re.fullmatch(r"\{SHA512-CRYPT\}\$6\$[0-9a-f]{16}\$[./0-9A-Za-z]{86}", stored)
    assert len({stored.split("$")[2] for _login, stored in entries}) == len(entries), "salts must differ per login"


def test_postfix_logs_reach_the_journal(tls):
    subject = token()
    with submission(tls) as client:
        client.login(JOBS, password(JOBS))
        client.sendmail(JOBS, [OUTSIDE], message(JOBS, subject))
    delivered(subject)
    submitted = on_host(
        RELAY, "journalctl", "--no-pager", "-o", "cat", "SYSLOG_IDENTIFIER=postfix/submission/smtpd"
    ).stdout
    assert f"sasl_username={JOBS}" in submitted
    sent = on_host(RELAY, "journalctl", "--no-pager", "-o", "cat", "SYSLOG_IDENTIFIER=postfix/smtp").stdout
    assert "relay=10.99.28.10[10.99.28.10]:25" in sent and "status=sent" in sent


def test_the_relays_log_lines_reach_the_log_store_within_10_s(tls):
    """The sink's host is the scenario's log collector (infn.cloud.logging): the relay's Postfix
    lines about a message are searchable there, by its Message-ID, within 10 s of the submission."""
    message_id = f"{token()}@cloud.example.test"
    with submission(tls) as client:
        client.login(JOBS, password(JOBS))
        client.sendmail(JOBS, [OUTSIDE], f"Message-ID: <{message_id}>\r\n" + message(JOBS, token()))
    submitted = time.monotonic()
    query = f"SELECT program FROM logs WHERE host = '{RELAY}' AND message LIKE '%message-id=<{message_id}>%'"
    while time.monotonic() - submitted < 10:
        stored = on_host(SINK, "psql", "-U", "postgres", "-d", "logs", "-Atc", query).stdout.split()
        if stored:
            break
        time.sleep(0.2)
    took = time.monotonic() - submitted
    assert stored == ["postfix/cleanup"], (
        f"the relay's cleanup line was not in the log store within 10 s ({took:.1f} s)"
    )
    print(f"the relay's log line was in the store {took:.1f} s after the submission")


# Last of the SMTP tests: Dovecot delays every later login from an address that failed (its
# auth penalty, up to 15 s), which would slow the tests after it.
@pytest.mark.parametrize(("login", "secret"), [(JOBS, "not-the-password"), ("nobody@cloud.example.test", "x")])
def test_wrong_credentials_get_535(tls, login, secret):
    with submission(tls) as client:
        client.user, client.password = login, secret
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.auth("PLAIN", client.auth_plain)
    assert refused.value.smtp_code == 535


def test_rerun_changes_nothing_and_never_shows_a_secret():
    """A verbose converge (-vvv) must change nothing and print no password."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.environ["MOLECULE_PROJECT_DIRECTORY"] + "/build/collections"
    result = subprocess.run(
        ["ansible-playbook", "-vvv", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "converge.yml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    changed = re.findall(r"^\S+\s+:\s+ok=\d+\s+changed=(\d+)", result.stdout.split("PLAY RECAP")[-1], re.M)
    assert changed and set(changed) == {"0"}, result.stdout[-3000:]
    secrets = {path.name: path.read_text().strip() for path in (SECRETS / "smtp_relay").rglob("*") if path.is_file()}
    secrets.update(given=GIVEN_PASSWORD, relayhost=RELAYHOST_PASSWORD)
    output = result.stdout + result.stderr
    assert [name for name, secret in secrets.items() if secret in output] == []
    # Nor on the relay, whose journal goes to central logging (modules log their arguments there).
    journal = on_host(RELAY, "journalctl", "--no-pager", "-o", "cat").stdout
    assert [name for name, secret in secrets.items() if secret in journal] == []
