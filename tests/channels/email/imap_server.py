"""A small, honest IMAP4rev1 responder for tests (RFC 3501 subset).

Implements CAPABILITY, NOOP, LOGIN, SELECT/EXAMINE (with UIDVALIDITY and UIDNEXT), UID SEARCH
(ALL / UID <set>), UID FETCH (UID, RFC822.SIZE, RFC822, BODY[] / BODY.PEEK[]) and LOGOUT, over a
real TCP socket, enough for :mod:`imaplib`. Sequence sets follow RFC 3501: ``n:*`` includes the
highest UID even when it is below ``n``. Anything else is answered ``BAD``.
"""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\([^)]*\))|([^\s()]+)')


@dataclass
class Mailbox:
    uidvalidity: int = 1
    messages: list[tuple[int, bytes]] = field(default_factory=list)
    next_uid: int = 1

    def add(self, raw: bytes) -> int:
        uid = self.next_uid
        self.messages.append((uid, raw))
        self.next_uid += 1
        return uid

    def renumber(self, uidvalidity: int) -> None:
        """What a server does after a mailbox rebuild: new UIDVALIDITY, UIDs from 1 again."""
        raws = [raw for _, raw in self.messages]
        self.uidvalidity = uidvalidity
        self.messages = []
        self.next_uid = 1
        for raw in raws:
            self.add(raw)


def parse_set(text: str, max_value: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        if ":" in part:
            a, b = part.split(":", 1)
            lo = max_value if a == "*" else int(a)
            hi = max_value if b == "*" else int(b)
            lo, hi = min(lo, hi), max(lo, hi)
            values.update(range(lo, hi + 1))
        else:
            values.add(max_value if part == "*" else int(part))
    return values


class ImapServer:
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.mailboxes: dict[str, Mailbox] = {"INBOX": Mailbox(uidvalidity=1700000000)}
        self.commands: list[str] = []
        self.hang_up_on: str | None = None  # e.g. "FETCH": drop the connection there
        server = self

        class Handler(socketserver.StreamRequestHandler):
            disable_nagle_algorithm = True  # many small writes; avoid delayed-ACK stalls

            def handle(self) -> None:
                server._session(self)

        self._tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._tcp.daemon_threads = True
        self.port = self._tcp.server_address[1]
        self._thread = threading.Thread(target=self._tcp.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> ImapServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._tcp.shutdown()
        self._tcp.server_close()

    @property
    def inbox(self) -> Mailbox:
        return self.mailboxes["INBOX"]

    # --- protocol ----------------------------------------------------------------------------

    def _session(self, h: socketserver.StreamRequestHandler) -> None:
        def send(line: bytes) -> None:
            h.wfile.write(line + b"\r\n")

        send(b"* OK [CAPABILITY IMAP4rev1] caredesk test IMAP ready")
        user: str | None = None
        selected: Mailbox | None = None
        while True:
            line = h.rfile.readline(65536)
            if not line:
                return
            line = line.rstrip(b"\r\n")
            # Literal arguments: ask for the bytes, then read them (RFC 3501 section 4.3).
            while (m := re.search(rb"\{(\d+)\}$", line)) is not None:
                send(b"+ Ready for literal data")
                data = h.rfile.read(int(m.group(1)))
                rest = h.rfile.readline(65536).rstrip(b"\r\n")
                line = line[: m.start()] + b'"' + data.replace(b'"', b'\\"') + b'"' + rest
            parts = line.split(b" ", 2)
            if len(parts) < 2:
                send(b"* BAD missing command")
                continue
            tag, command = parts[0], parts[1].upper().decode("ascii", "replace")
            args: list[bytes] = []
            for quoted, paren, atom in _TOKEN.findall(parts[2] if len(parts) > 2 else b""):
                if paren or atom:
                    args.append(paren or atom)
                else:
                    args.append(quoted.replace(b'\\"', b'"').replace(b"\\\\", b"\\"))
            sub = args[0].decode("ascii", "replace").upper() if args else ""
            self.commands.append(command if command != "UID" else f"UID {sub}")
            if command == "UID" and self.hang_up_on == sub:
                return  # simulate a dropped connection
            if command == "CAPABILITY":
                send(b"* CAPABILITY IMAP4rev1")
                send(tag + b" OK CAPABILITY completed")
            elif command == "NOOP":
                send(tag + b" OK NOOP completed")
            elif command == "LOGOUT":
                send(b"* BYE logging out")
                send(tag + b" OK LOGOUT completed")
                return
            elif command == "LOGIN":
                name, password = (a.decode("utf-8", "replace") for a in [*args, b"", b""][:2])
                if self.users.get(name) == password and password:
                    user = name
                    send(tag + b" OK [CAPABILITY IMAP4rev1] LOGIN completed")
                else:
                    send(tag + b" NO [AUTHENTICATIONFAILED] Invalid credentials")
            elif user is None:
                send(tag + b" BAD command needs authentication")
            elif command in {"SELECT", "EXAMINE"}:
                name = args[0].decode("utf-8", "replace") if args else ""
                selected = self.mailboxes.get("INBOX" if name.upper() == "INBOX" else name)
                if selected is None:
                    send(tag + b" NO [NONEXISTENT] no such mailbox")
                    continue
                send(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
                send(b"* %d EXISTS" % len(selected.messages))
                send(b"* 0 RECENT")
                send(b"* OK [UIDVALIDITY %d] UIDs valid" % selected.uidvalidity)
                send(b"* OK [UIDNEXT %d] Predicted next UID" % selected.next_uid)
                mode = b"READ-ONLY" if command == "EXAMINE" else b"READ-WRITE"
                send(tag + b" OK [" + mode + b"] " + command.encode() + b" completed")
            elif selected is None:
                send(tag + b" BAD no mailbox selected")
            elif command == "UID" and args and args[0].upper() == b"SEARCH":
                self._search(tag, args[1:], selected, send)
            elif command == "UID" and args and args[0].upper() == b"FETCH" and len(args) >= 3:
                self._fetch(tag, args[1].decode(), args[2].decode().upper(), selected, h)
            else:
                send(tag + b" BAD unknown or unsupported command")

    def _search(
        self, tag: bytes, args: list[bytes], box: Mailbox, send: Callable[[bytes], None]
    ) -> None:
        uids = [uid for uid, _ in box.messages]
        max_uid = max(uids, default=0)
        if args and args[0].upper() == b"UID" and len(args) == 2:
            wanted = parse_set(args[1].decode(), max_uid)
            found = [u for u in uids if u in wanted]
        elif args and args[0].upper() == b"ALL":
            found = uids
        else:
            send(tag + b" BAD unsupported search")
            return
        send(b"* SEARCH" + b"".join(b" %d" % u for u in found))
        send(tag + b" OK UID SEARCH completed")

    def _fetch(
        self,
        tag: bytes,
        uid_set: str,
        items: str,
        box: Mailbox,
        h: socketserver.StreamRequestHandler,
    ) -> None:
        max_uid = max((uid for uid, _ in box.messages), default=0)
        wanted = parse_set(uid_set, max_uid)
        for seq, (uid, raw) in enumerate(box.messages, start=1):
            if uid not in wanted:
                continue
            out = b"* %d FETCH (UID %d" % (seq, uid)
            if "RFC822.SIZE" in items:
                out += b" RFC822.SIZE %d" % len(raw)
            literal = None
            if "BODY.PEEK[]" in items or "BODY[]" in items:
                literal = b" BODY[] {%d}\r\n" % len(raw)
            elif re.search(r"\bRFC822\b(?!\.)", items):
                literal = b" RFC822 {%d}\r\n" % len(raw)
            if literal is not None:
                h.wfile.write(out + literal + raw + b")\r\n")
            else:
                h.wfile.write(out + b")\r\n")
        h.wfile.write(tag + b" OK UID FETCH completed\r\n")
