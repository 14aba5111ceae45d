"""AdminService: channels, deprecation, asset info, garbage collection, blob audit, API keys."""

from __future__ import annotations

import asyncio

from meshsmith.v1 import admin_pb2, admin_pb2_grpc
from registry import Registry, check_asset_name
from registry.keys import KeyStore
from server import convert
from server.auth import Authenticator
from server.jobs import JobManager
from server.status import unary

ROLES = {"reader": admin_pb2.ROLE_READER, "creator": admin_pb2.ROLE_CREATOR, "admin": admin_pb2.ROLE_ADMIN}
ROLE_NAMES = {v: k for k, v in ROLES.items()}


def key_to_pb(k) -> admin_pb2.ApiKey:
    return admin_pb2.ApiKey(id=k.id, name=k.name, role=ROLES[k.role], created_at=convert.timestamp(k.created_at), revoked=k.revoked)


class AdminService(admin_pb2_grpc.AdminServiceServicer):
    def __init__(self, registry: Registry, keys: KeyStore, auth: Authenticator, jobs: JobManager, gc_grace_s: float):
        self.registry = registry
        self.keys = keys
        self.auth = auth
        self.jobs = jobs
        self.gc_grace_s = gc_grace_s

    @unary
    async def MoveChannel(self, request, context):
        actor = (await self.auth.caller(context)).name
        channel = await asyncio.to_thread(self.registry.move_channel, check_asset_name(request.asset), request.channel,
                                          request.ref, actor)
        return admin_pb2.MoveChannelResponse(channel=convert.channel_to_pb(channel))

    @unary
    async def DeprecateVersion(self, request, context):
        actor = (await self.auth.caller(context)).name
        version = await asyncio.to_thread(self.registry.deprecate, check_asset_name(request.asset), request.number,
                                          actor, request.reason)
        return admin_pb2.DeprecateVersionResponse(version=convert.version_to_pb(version))

    @unary
    async def SetAssetInfo(self, request, context):
        actor = (await self.auth.caller(context)).name
        asset = await asyncio.to_thread(
            self.registry.set_asset_info, check_asset_name(request.asset),
            request.description if request.HasField("description") else None,
            tuple(request.tags) if request.set_tags else None, actor,
        )
        return admin_pb2.SetAssetInfoResponse(asset=convert.asset_to_pb(asset))

    @unary
    async def CollectGarbage(self, request, context):
        actor = (await self.auth.caller(context)).name
        live = await asyncio.to_thread(self.jobs.store.live_inputs)
        report = await asyncio.to_thread(self.registry.gc, request.dry_run, self.gc_grace_s, actor, live)
        return admin_pb2.CollectGarbageResponse(dry_run=report.dry_run, deleted=list(report.deleted),
                                                bytes_freed=report.bytes_freed, kept_referenced=report.kept_referenced)

    @unary
    async def AuditBlobs(self, request, context):
        report = await asyncio.to_thread(self.registry.audit)
        return admin_pb2.AuditBlobsResponse(checked=report.checked, bytes_checked=report.bytes_checked,
                                            mismatched=list(report.mismatched), missing=list(report.missing))

    @unary
    async def CreateApiKey(self, request, context):
        key, secret = await asyncio.to_thread(self.keys.create, request.name, ROLE_NAMES.get(request.role, "?"))
        return admin_pb2.CreateApiKeyResponse(key=key_to_pb(key), secret=secret)

    @unary
    async def ListApiKeys(self, request, context):
        return admin_pb2.ListApiKeysResponse(keys=[key_to_pb(k) for k in await asyncio.to_thread(self.keys.list)])

    @unary
    async def RevokeApiKey(self, request, context):
        key = await asyncio.to_thread(self.keys.revoke, request.id)
        self.auth.forget()
        return admin_pb2.RevokeApiKeyResponse(key=key_to_pb(key))
