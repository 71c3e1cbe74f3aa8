"""A mosaik simulator in plain Python sockets (no mosaik_api_v3) that fails on purpose.

``python misbehaving_sim.py HOST:PORT FAIL AT_S``: one ``Source`` model whose entities output
``p_kw`` = 1.0 each step (time-based, ``step_s`` from init), until the step at ``AT_S``, where
it does what FAIL says:

- ``die``: the process exits with code 3 in the middle of the step;
- ``hang``: it never answers the step;
- ``garbage``: it answers with bytes that are not JSON;
- ``shape``: it answers the step with a text instead of the next time;
- ``raise``: it answers with a failure message (the simulator's own error);
- ``raise_text``: the same, its content a plain string instead of ``[type, message]``;
- ``none``: it does not fail.

The wire protocol: a 4-byte big-endian length, then UTF-8 JSON ``[type, id, content]`` with
type 0 (request ``[method, args, kwargs]``), 1 (success) or 2 (failure).
"""

import json
import os
import socket
import sys
import time

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {"Source": {"public": True, "params": [], "attrs": ["p_kw"]}},
}


def read_message(sock):
    header = _read(sock, 4)
    return json.loads(_read(sock, int.from_bytes(header, "big")).decode())


def _read(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def send(sock, message):
    body = json.dumps(message).encode()
    sock.sendall(len(body).to_bytes(4, "big") + body)


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    fail, at_s = sys.argv[2], int(sys.argv[3])
    sock = socket.create_connection((host, int(port)))
    step_s, eids = 900, []
    while True:
        try:
            _, msg_id, (method, args, kwargs) = read_message(sock)
        except EOFError:
            return
        if method == "stop":
            return
        if method == "init":
            step_s = kwargs.get("step_s", step_s)
            send(sock, [1, msg_id, META])
        elif method == "create":
            new = [f"source_{len(eids) + k}" for k in range(args[0])]
            eids += new
            send(sock, [1, msg_id, [{"eid": e, "type": "Source", "rel": []} for e in new]])
        elif method == "step" and args[0] == at_s and fail != "none":
            if fail == "die":
                os._exit(3)
            elif fail == "hang":
                time.sleep(3600)
            elif fail == "garbage":
                sock.sendall(b"\x00\x00\x00\x05{{{{{")
            elif fail == "shape":
                send(sock, [1, msg_id, "soon"])
            elif fail == "raise":
                send(sock, [2, msg_id, ["ValueError", f"no data for t_s={at_s}"]])
            elif fail == "raise_text":
                send(sock, [2, msg_id, f"no data for t_s={at_s}"])
        elif method == "step":
            send(sock, [1, msg_id, args[0] + step_s])
        elif method == "get_data":
            send(sock, [1, msg_id, {e: {"p_kw": 1.0} for e in args[0]}])
        else:  # setup_done
            send(sock, [1, msg_id, None])


if __name__ == "__main__":
    main()
