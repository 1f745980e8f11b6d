#!/usr/bin/env python3
"""Static file server for the Attune demo and benchmark pages (Python 3 standard library only).

    python3 scripts/serve.py --root www --port 8080 --host 127.0.0.1

Serves on 127.0.0.1 by default: a loopback origin is a secure context, which the pages need
(WebGPU, CompressionStream, crypto.subtle). Sends the MIME types browsers insist on
(`application/wasm` for streaming compilation, `text/javascript` for ES modules) and
`Cache-Control: no-cache` for pages and scripts so a rebuild shows up on reload.
With --isolate it also sends COOP/COEP headers, making the page `crossOriginIsolated`.
"""

import argparse
import http.server
import os
import sys

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".wasm": "application/wasm",
    ".gguf": "application/octet-stream",
    ".bin": "application/octet-stream",
    ".onnx": "application/octet-stream",
    ".ts": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

NO_CACHE_EXTS = {".html", ".htm", ".js", ".mjs", ".css", ".json", ".wasm"}


def make_handler(root, isolate):
    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

        def __init__(self, *args, **kwargs):
            # `directory` makes translate_path() resolve inside root and drop `..` segments,
            # so requests cannot escape it.
            super().__init__(*args, directory=root, **kwargs)

        def guess_type(self, path):
            ext = os.path.splitext(path)[1].lower()
            return MIME_TYPES.get(ext) or super().guess_type(path)

        def end_headers(self):
            ext = os.path.splitext(self.path.split("?", 1)[0].split("#", 1)[0])[1].lower()
            if ext in NO_CACHE_EXTS or self.path.split("?", 1)[0].endswith("/"):
                self.send_header("Cache-Control", "no-cache")
            if isolate:
                self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
                self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            super().end_headers()

        def log_message(self, fmt, *args):
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    return Handler


def main():
    parser = argparse.ArgumentParser(description="Serve the Attune pages over HTTP.")
    parser.add_argument("--root", default="www", help="directory to serve (default: www)")
    parser.add_argument("--port", type=int, default=8080, help="port (default: 8080; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--isolate", action="store_true",
                        help="send COOP/COEP headers so pages are crossOriginIsolated")
    args = parser.parse_args()

    root = os.path.realpath(args.root)
    if not os.path.isdir(root):
        parser.error(f"--root {args.root!r} is not a directory")

    server = http.server.ThreadingHTTPServer((args.host, args.port), make_handler(root, args.isolate))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"Serving {root} at http://{shown}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
