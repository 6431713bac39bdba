# Send bytes to a server exactly as given and print what comes back:
# for requests that curl refuses to make.
#
# usage: raw.py PORT [--delay SECONDS] [--timeout SECONDS] < request
#   --delay  send one byte every SECONDS (a slow client)
import socket
import sys
import time

port = int(sys.argv[1])
delay = None
timeout = 15.0
args = sys.argv[2:]
while args:
    if args[0] == "--delay":
        delay = float(args[1])
        args = args[2:]
    elif args[0] == "--timeout":
        timeout = float(args[1])
        args = args[2:]
    else:
        sys.exit("raw.py: unknown argument " + args[0])

data = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
try:
    if delay is None:
        s.sendall(data)
    else:
        for b in data:
            s.sendall(bytes([b]))
            time.sleep(delay)
except OSError as e:
    print("send-error %s" % e.__class__.__name__)
out = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
except socket.timeout:
    out += b"\n[timeout]"
except OSError as e:
    out += ("\n[%s]" % e.__class__.__name__).encode()
sys.stdout.write(out.decode("latin-1"))
