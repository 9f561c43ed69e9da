"""Identity providers of an org: configure by fields, metadata XML or metadata URL."""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from cryptography import x509
from msgspec import UNSET

from staffroom.accounts.service import sso_managed
from staffroom.accounts.service.lookups import org_row, require_org
from staffroom.accounts.service.users import assert_can_grant, check_groups
from staffroom.core import audit, clock, realtime
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import Conflict, Invalid, NotFound
from staffroom.core.runtime import Runtime
from staffroom.sso import saml
from staffroom.sso.oidc.config import redirect_uri
from staffroom.sso.presets import field_names
from staffroom.sso.schemas import (
    CertificateOut,
    GroupRule,
    IdpIn,
    IdpList,
    IdpOut,
    IdpPatch,
    OidcIdpIn,
    SsoSettingsIn,
    SsoSettingsOut,
)
from staffroom.sso.service import oidc_idps
from staffroom.sso.tables import IdentityProvider

CERT_WARNING_DAYS = 30


@cache
def _sp_keys(cert_file: str, key_file: str) -> tuple[str, str]:
    # Read once per process: the files change only with a restart.
    cert = Path(cert_file).read_text() if cert_file else ""
    key = Path(key_file).read_text() if key_file else ""
    return cert, key


def sp_config(rt: Runtime, org_slug: str) -> saml.SpConfig:
    """Our SP for one org, from the configured public URL (never the Host header)."""
    s = rt.settings
    cert, key = _sp_keys(s.saml_sp_cert_file, s.saml_sp_key_file)
    return saml.SpConfig(
        base_url=f"{s.public_url.rstrip('/')}/sso/{org_slug}/saml", cert_pem=cert, key_pem=key
    )


def idp_config(row: dict[str, Any]) -> saml.IdpConfig:
    """An IdP row as the SAML adapter needs it."""
    return saml.IdpConfig(
        entity_id=row["entity_id"],
        sso_url=row["sso_url"],
        slo_url=row["slo_url"],
        certificates=tuple(row["certificates"]),
        signs_messages=row["signs_messages"],
    )


def _certificate_out(pem: str) -> CertificateOut:
    cert = x509.load_pem_x509_certificate(pem.encode())
    days = (cert.not_valid_after_utc - clock.utcnow()).days
    warning = None
    if days < 0:
        warning = "expired: sign-ins signed with it fail"
    elif days <= CERT_WARNING_DAYS:
        warning = f"expires in {days} days: add the IdP's next certificate now"
    return CertificateOut(
        pem=pem,
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
        days_left=days,
        warning=warning,
    )


def idp_out(rt: Runtime, org_slug: str, row: dict[str, Any]) -> IdpOut:
    """The admin's view of an IdP, with our SP's values to paste into the IdP."""
    sp = sp_config(rt, org_slug)
    oidc = row["kind"] == "oidc"
    return IdpOut(
        id=row["id"],
        name=row["name"],
        kind="oidc" if oidc else "saml",
        entity_id=row["entity_id"],
        sso_url=row["sso_url"],
        slo_url=row["slo_url"],
        certificates=[_certificate_out(p) for p in row["certificates"]],
        signs_messages=row["signs_messages"],
        idp_initiated=row["idp_initiated"],
        jit=row["jit"],
        default_role=row["default_role"],
        preset=row["preset"],
        attribute_map=row["attribute_map"],
        effective_attribute_map=field_names(row),
        group_rules=[msgspec.convert(r, GroupRule) for r in row["group_rules"]],
        enforces_mfa=row["enforces_mfa"],
        email_domains=row["email_domains"],
        enabled=row["enabled"],
        sp_entity_id=sp.entity_id,
        sp_acs_url=sp.acs_url,
        sp_slo_url=sp.sls_url,
        sp_metadata_url=sp.entity_id,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        issuer=row["issuer"],
        client_id=row["client_id"],
        client_secret_set=bool(row["client_secret"]),
        scopes=list(row["scopes"]) if oidc else [],
        hosted_domain=row["hosted_domain"],
        tenant_id=row["tenant_id"],
        redirect_uri=redirect_uri(rt.settings.public_url, org_slug) if oidc else "",
    )


def check_url(url: str, field: str) -> str:
    """An http(s) URL with a host, stripped (a 422 otherwise)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Invalid(f"invalid_{field}", f"The {field.replace('_', ' ')} must be an http(s) URL.")
    return url.strip()


async def _validated(principal: Principal, values: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise the fields being set; raises a 4xx for anything wrong."""
    out = dict(values)
    for field in ("sso_url", "slo_url"):
        if out.get(field):
            out[field] = check_url(out[field], field)
    if "entity_id" in out:
        out["entity_id"] = out["entity_id"].strip()
        if not out["entity_id"]:
            raise Invalid("invalid_entity_id", "The IdP entity id must not be blank.")
    if "certificates" in out:
        out["certificates"] = _certificates(out["certificates"])
    if "default_role" in out:
        await assert_can_grant(principal, out["default_role"])
    if "group_rules" in out:
        out["group_rules"] = await _group_rules(principal, out["group_rules"])
    if "email_domains" in out:
        out["email_domains"] = sorted(
            {d.strip().lower().rstrip(".") for d in out["email_domains"] if d.strip()}
        )
    return out


def _certificates(given: list[str]) -> list[str]:
    """The IdP's signing certificates as PEM; none, or one that is not a certificate, is a 422."""
    if not given:
        raise Invalid("certificate_required", "Give the IdP's signing certificate.")
    try:
        return [saml.normalize_certificate(c)[0] for c in given]
    except saml.Rejected as exc:
        raise Invalid("bad_certificate", exc.detail) from exc


async def _group_rules(principal: Principal, given: list[Any]) -> list[dict[str, Any]]:
    """Group rules naming the org's own groups and roles the actor may grant."""
    rules = [msgspec.to_builtins(r) if isinstance(r, GroupRule) else r for r in given]
    await check_groups(
        principal.org_id, [uuid.UUID(str(r["group_id"])) for r in rules if r.get("group_id")]
    )
    for role in {r["role"] for r in rules if r.get("role")}:
        await assert_can_grant(principal, role)
    return rules


async def _entity_id_free(org_id: uuid.UUID, entity_id: str, idp_id: uuid.UUID) -> None:
    """One IdP per entity id within an org (the ACS finds the IdP by its Issuer).

    Across orgs an entity id may repeat, on purpose: two orgs of one company on the same
    Entra ID tenant have the same issuer, and every response is bound to one org's SP by
    its audience and destination, its IdP looked up among that org's only. Refusing it
    would also let whoever registers a company's entity id first lock that company out.
    """
    taken = await IdentityProvider.exists().where(
        (IdentityProvider.org == org_id)
        & (IdentityProvider.entity_id == entity_id)
        & (IdentityProvider.id != idp_id)
    )
    if taken:
        raise Conflict(
            "idp_entity_id_taken",
            "Another identity provider of this organisation has this entity id: "
            "change that one (e.g. add its new certificate) instead.",
        )


async def by_id(org_id: uuid.UUID, idp_id: uuid.UUID) -> dict[str, Any] | None:
    """One IdP row of an org, enabled or not."""
    return await (
        IdentityProvider.select()
        .where((IdentityProvider.id == idp_id) & (IdentityProvider.org == org_id))
        .output(load_json=True)
        .first()
    )


async def own(principal: Principal, idp_id: uuid.UUID) -> dict[str, Any]:
    """One IdP row of the caller's org (404 otherwise)."""
    row = await by_id(principal.org_id, idp_id)
    if row is None:
        raise NotFound("idp_not_found", "No such identity provider.")
    return row


async def _slug(principal: Principal) -> str:
    return str((await org_row(principal.org_id))["slug"])


async def create(rt: Runtime, principal: Principal, data: IdpIn, ctx: RequestContext) -> IdpOut:
    """Add an IdP to the org."""
    values = await _validated(principal, msgspec.to_builtins(data))
    now = clock.utcnow()
    row = IdentityProvider(id=uuid.uuid4(), org=principal.org_id, created_at=now, updated_at=now)
    await _entity_id_free(principal.org_id, values["entity_id"], row.id)
    for key, value in values.items():
        setattr(row, key, value)
    await IdentityProvider.insert(row)
    created = {"entity_id": values["entity_id"]}
    await audit.by(principal, ctx, "sso.idp_created", ("idp", row.id), created)
    return await get(rt, principal, row.id)


async def create_oidc(
    rt: Runtime, principal: Principal, data: OidcIdpIn, ctx: RequestContext
) -> IdpOut:
    """Add an OpenID Connect IdP to the org (its client secret sealed at rest)."""
    given = msgspec.to_builtins(data)
    slug, now = await _slug(principal), clock.utcnow()
    row = IdentityProvider(
        id=uuid.uuid4(), org=principal.org_id, kind="oidc", created_at=now, updated_at=now
    )
    oidc = {k: given.pop(k) for k in list(given) if k in oidc_idps.OIDC_ONLY or k == "preset"}
    values = await _validated(principal, given)
    base = {**oidc_idps.NEW, "org": principal.org_id, "id": row.id}
    values |= await oidc_idps.validated(rt, principal.org_id, slug, base, oidc)
    for key, value in values.items():
        setattr(row, key, value)
    await IdentityProvider.insert(row)
    created = {"kind": "oidc", "issuer": values["issuer"], "preset": values["preset"]}
    await audit.by(principal, ctx, "sso.idp_created", ("idp", row.id), created)
    return await get(rt, principal, row.id)


async def get(rt: Runtime, principal: Principal, idp_id: uuid.UUID) -> IdpOut:
    """One IdP of the caller's org."""
    return idp_out(rt, await _slug(principal), await own(principal, idp_id))


async def list_idps(rt: Runtime, principal: Principal) -> IdpList:
    """The org's IdPs."""
    slug = await _slug(principal)
    rows = (
        await IdentityProvider.select()
        .where(IdentityProvider.org == principal.org_id)
        .order_by(IdentityProvider.created_at)
        .output(load_json=True)
    )
    return IdpList(items=[idp_out(rt, slug, r) for r in rows])


async def patch(
    rt: Runtime, principal: Principal, idp_id: uuid.UUID, data: IdpPatch, ctx: RequestContext
) -> IdpOut:
    """Change an IdP; certificate rollover is a PATCH with both old and new certificates."""
    current = await own(principal, idp_id)
    raw = {
        f: msgspec.to_builtins(getattr(data, f))
        for f in data.__struct_fields__
        if getattr(data, f) is not UNSET
    }
    if current["kind"] == "oidc":
        oidc = {k: raw.pop(k) for k in list(raw) if k in oidc_idps.OIDC_ONLY or k == "preset"}
        oidc |= {k: raw.pop(k) for k in list(raw) if k in oidc_idps.SAML_ONLY}
        values = await _validated(principal, raw)
        slug = await _slug(principal)
        values |= await oidc_idps.validated(rt, principal.org_id, slug, current, oidc)
    else:
        unknown = oidc_idps.OIDC_ONLY & set(raw)
        if unknown:
            raise Invalid("not_for_saml", f"A SAML IdP has no {', '.join(sorted(unknown))}.")
        values = await _validated(principal, raw)
    if "entity_id" in values:
        await _entity_id_free(principal.org_id, values["entity_id"], idp_id)
    if values:
        columns: dict[Any, Any] = {getattr(IdentityProvider, k): v for k, v in values.items()}
        columns[IdentityProvider.updated_at] = clock.utcnow()
        await IdentityProvider.update(columns).where(IdentityProvider.id == idp_id)
        await audit.by(
            principal, ctx, "sso.idp_changed", ("idp", idp_id), {"fields": sorted(values)}
        )
    return await get(rt, principal, idp_id)


async def delete(principal: Principal, idp_id: uuid.UUID, ctx: RequestContext) -> None:
    """Remove an IdP and the identities linked through it."""
    await own(principal, idp_id)
    await IdentityProvider.delete().where(IdentityProvider.id == idp_id)
    await audit.by(principal, ctx, "sso.idp_deleted", ("idp", idp_id))


async def settings_of(rt: Runtime, principal: Principal) -> SsoSettingsOut:
    """The org's SSO enforcement and its IdPs."""
    org = await org_row(principal.org_id)
    sp = sp_config(rt, org["slug"])
    return SsoSettingsOut(
        sso_required=org["sso_required"],
        break_glass_user_ids=await sso_managed.break_glass_ids(principal.org_id),
        sp_entity_id=sp.entity_id,
        sp_acs_url=sp.acs_url,
        sp_slo_url=sp.sls_url,
        sp_metadata_url=sp.entity_id,
        idps=(await list_idps(rt, principal)).items,
        oidc_redirect_uri=redirect_uri(rt.settings.public_url, org["slug"]),
    )


async def put_settings(
    rt: Runtime, principal: Principal, data: SsoSettingsIn, ctx: RequestContext
) -> SsoSettingsOut:
    """Require SSO (password login only for break-glass owners), or stop requiring it."""
    glass = set(data.break_glass_user_ids)
    if not glass <= await sso_managed.active_owner_ids(principal.org_id):
        raise Invalid("break_glass_not_owner", "Only active owners can be break-glass accounts.")
    if data.sso_required:
        enabled = await IdentityProvider.exists().where(
            (IdentityProvider.org == principal.org_id) & (IdentityProvider.enabled == True)  # noqa: E712
        )
        if not enabled:
            raise Invalid("no_idp", "Add and enable an identity provider before requiring SSO.")
        if not glass:
            raise Invalid("break_glass_required", "Keep at least one break-glass owner.")
    await sso_managed.set_sso_required(principal.org_id, data.sso_required, glass)
    await realtime.announce_principals_changed(rt.relay, principal.org_id)
    await audit.record(
        "sso.settings_changed",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="org",
        target_id=principal.org_id,
        details={"sso_required": data.sso_required, "break_glass": len(glass)},
    )
    return await settings_of(rt, principal)


async def enabled_idps(org_id: uuid.UUID) -> list[dict[str, Any]]:
    """The org's enabled IdPs, oldest first."""
    return list(
        await IdentityProvider.select()
        .where((IdentityProvider.org == org_id) & (IdentityProvider.enabled == True))  # noqa: E712
        .order_by(IdentityProvider.created_at)
        .output(load_json=True)
    )


async def org_and_idps(org_slug: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The org of an SSO URL and its enabled IdPs (404 if the org does not exist)."""
    org = await require_org(org_slug)
    return org, await enabled_idps(org["id"])
