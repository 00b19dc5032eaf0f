"""The demo service's web page: counts its visits in Redis (RESP over TCP, no client library).

Arguments: port, Redis address, Redis port, the file holding Redis's password.
"""

import http.server
import pathlib
import socket
import sys

PORT, DB_HOST, DB_PORT = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
PASSWORD = pathlib.Path(sys.argv[4]).read_text().strip()


def command(*words: str) -> bytes:
    return f"*{len(words)}\r\n".encode() + b"".join(f"${len(w)}\r\n{w}\r\n".encode() for w in words)


def incr(key: str) -> int:
    with socket.create_connection((DB_HOST, DB_PORT), timeout=5) as connection:
        connection.sendall(command("AUTH", PASSWORD) + command("INCR", key))
        replies = connection.makefile("rb")
        authenticated, reply = (replies.readline().decode().strip() for _line in range(2))
    if authenticated != "+OK":
        raise RuntimeError(f"the database refused the password: {authenticated}")
    if not reply.startswith(":"):
        raise RuntimeError(f"unexpected reply from the database: {reply}")
    return int(reply[1:])


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            body, status = f"visits: {incr('visits')} (database {DB_HOST}:{DB_PORT})\n", 200
        except (OSError, RuntimeError) as error:
            body, status = f"database unavailable: {error}\n", 503
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Page).serve_forever()
