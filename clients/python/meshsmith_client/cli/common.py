"""Options every client command shares: server address, API key, JSON output."""

from __future__ import annotations

import argparse

from google.protobuf import json_format

from meshsmith_client.client import Client

AUTHOR_HELP = ("a label recorded as the version's author (history's author column); default: none, so the server "
               "records who you are to it (key:NAME with --auth, anonymous@HOST without), the name the audit log "
               "and channel moves show. The audit log always names that identity, never this label")


def client_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--server", help="HOST:PORT of the server (default: $MESHSMITH_SERVER or 127.0.0.1:50051)")
    parent.add_argument("--api-key", help="API key (default: $MESHSMITH_API_KEY)")
    parent.add_argument("--tls-ca", help="PEM CA of the server's certificate: connect over TLS ($MESHSMITH_TLS_CA)")
    parent.add_argument("--tls-cert", help="client certificate for mTLS ($MESHSMITH_TLS_CERT)")
    parent.add_argument("--tls-key", help="client key for mTLS ($MESHSMITH_TLS_KEY)")
    parent.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parent


def connect(args) -> Client:
    return Client(args.server, api_key=args.api_key, tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key)


def to_json(message) -> str:
    return json_format.MessageToJson(message, preserving_proto_field_name=True, indent=2)


def split_ref(spec: str) -> tuple[str, str]:
    """"props/chair@3" -> ("props/chair", "3"); no "@" means latest."""
    name, _, ref = spec.partition("@")
    return name, ref or "latest"
