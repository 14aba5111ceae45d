"""`meshsmith keys create|list|revoke`: through the server (admin key), or on a local data dir to bootstrap."""

from __future__ import annotations

from meshsmith_client.cli.common import client_options, connect
from meshsmith.v1 import admin_pb2

ROLES = ("reader", "creator", "admin")


def add_parser(sub) -> None:
    common = client_options()
    p = sub.add_parser("keys", help="API keys: create (printed once), list, revoke")
    ksub = p.add_subparsers(dest="keys_command", required=True)
    for name, helptext in (("create", "create a key and print its secret once"), ("list", "list keys"), ("revoke", "revoke a key")):
        k = ksub.add_parser(name, parents=[common], help=helptext)
        k.add_argument("--data-dir", help="work on this server data dir directly (bootstrap the first admin key)")
        k.add_argument("--database-url", help="work on this database directly")
        if name == "create":
            k.add_argument("--role", choices=ROLES, required=True)
            k.add_argument("--name", default="")
        if name == "revoke":
            k.add_argument("key_id")
        k.set_defaults(func=run)


def _local_store(args):
    from registry import Registry
    from registry.keys import KeyStore
    from server.settings import load_settings

    s = load_settings({"data_dir": args.data_dir, "database_url": args.database_url})
    registry = Registry(s.db_url, s.blob_dir)
    registry.migrate()
    return KeyStore(registry.db)


def run(args) -> int:
    local = args.data_dir or args.database_url
    if local:
        store = _local_store(args)
        if args.keys_command == "create":
            key, secret = store.create(args.name, args.role)
            rows = [(key.id, key.name, key.role, key.revoked)]
        elif args.keys_command == "list":
            rows = [(k.id, k.name, k.role, k.revoked) for k in store.list()]
        else:
            k = store.revoke(args.key_id)
            rows = [(k.id, k.name, k.role, k.revoked)]
    else:
        with connect(args) as client:
            if args.keys_command == "create":
                resp = client._call(client.admin.CreateApiKey,
                                    admin_pb2.CreateApiKeyRequest(name=args.name, role=admin_pb2.Role.Value(f"ROLE_{args.role.upper()}")))
                keys, secret = [resp.key], resp.secret
            elif args.keys_command == "list":
                keys = list(client._call(client.admin.ListApiKeys, admin_pb2.ListApiKeysRequest()).keys)
            else:
                keys = [client._call(client.admin.RevokeApiKey, admin_pb2.RevokeApiKeyRequest(id=args.key_id)).key]
        rows = [(k.id, k.name, admin_pb2.Role.Name(k.role).removeprefix("ROLE_").lower(), k.revoked) for k in keys]
    for key_id, name, role, revoked in rows:
        print(f"{key_id}  {role:8} {name}{'  (revoked)' if revoked else ''}")
    if args.keys_command == "create":
        print(f"secret (shown once, store it now): {secret}")
    return 0
