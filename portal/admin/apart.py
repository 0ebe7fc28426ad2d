"""`apart(work, *args)`: a piece of an admin page's work run in a forked child.

On a Zero 2 W the web is one gevent worker: heavy work inside it (an argon2 check, a guide
pack's signature check and preparation) would stop every guest's page and probe for as long
as it runs. A child also takes what it imported and allocated away when it exits (argon2's
CFFI binding, pyca/cryptography, the Markdown renderer), so the workers' steady memory, what
the Zero 2 W's 80 MB budget counts (bench/memory.py), does not change. Under gevent
(gunicorn's worker patches os), fork and waitpid let the other greenlets run.
"""

from __future__ import annotations

import os
import select
from collections.abc import Callable

ANSWER_BYTES = 4096
"""The longest answer a child gives: one write under PIPE_BUF, so it arrives whole."""


def apart(work: Callable[..., str], *args: str) -> str:
    """`work(*args)` in a forked child; its answer (a short UTF-8 text) read back.

    RuntimeError when the child fails or gives no answer."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns from here
        code = 1
        try:
            os.close(read_end)
            answer = work(*args).encode("utf-8")[:ANSWER_BYTES]
            os.write(write_end, answer)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        _, status = os.waitpid(pid, 0)
        answer = os.read(read_end, ANSWER_BYTES) if select.select([read_end], [], [], 0)[0] else b""
    finally:
        os.close(read_end)
    if status != 0 or not answer:
        raise RuntimeError("an admin page's child process failed")
    return answer.decode("utf-8", "replace")
