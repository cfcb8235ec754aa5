"""The policy pack: `pulumi preview --policy-pack policies [--policy-pack-config
policies/config/<environment>.json]`. This module only builds the PolicyPack."""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import PACK_NAME, POLICIES

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.ADVISORY, policies=POLICIES)
