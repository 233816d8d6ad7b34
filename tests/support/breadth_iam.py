"""The IAM family of breadth_fixture.py (which runs it): principals with their attachments, inline
policies and memberships, an instance profile, identity providers, an access key and the
account's password policy, seeded in moto, written to state as the hashicorp/aws provider
v5 writes them after a refresh (a role's computed managed_policy_arns and inline_policy
list what its attachment and inline-policy resources added), and drifted outside Terraform."""

import json

REGION = "us-east-1"
ACCOUNT = "123456789012"
TRUST = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}
LIST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "*"}]}
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"
METADATA = ('<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            'entityID="https://idp.example.com/saml"><md:IDPSSODescriptor '
            'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            # The API takes no document under 1,000 characters.
            + "<!-- " + "padding " * 120 + "-->"
            + '</md:IDPSSODescriptor></md:EntityDescriptor>')
# Terraform keeps an access key's secret in state (sensitive): it must never reach a log line.
SECRET = "dg-secret-that-must-never-be-logged"


def text(document):
    return json.dumps(document, separators=(",", ":"))


def seed(client, resource, state):
    iam = client("iam")
    read = iam.create_policy(PolicyName="dg-read", PolicyDocument=json.dumps(READ))["Policy"]["Arn"]
    iam.create_role(RoleName="dg-app-role", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName="dg-app-role", PolicyArn=read)
    iam.put_role_policy(RoleName="dg-app-role", PolicyName="dg-inline", PolicyDocument=json.dumps(LIST))
    iam.create_user(UserName="dg-alice", Tags=[{"Key": "Team", "Value": "platform"}])
    iam.attach_user_policy(UserName="dg-alice", PolicyArn=read)
    iam.put_user_policy(UserName="dg-alice", PolicyName="dg-alice-inline", PolicyDocument=json.dumps(LIST))
    key = iam.create_access_key(UserName="dg-alice")["AccessKey"]["AccessKeyId"]
    iam.create_group(GroupName="dg-devs")
    iam.attach_group_policy(GroupName="dg-devs", PolicyArn=read)
    iam.put_group_policy(GroupName="dg-devs", PolicyName="dg-devs-inline", PolicyDocument=json.dumps(LIST))
    iam.add_user_to_group(UserName="dg-alice", GroupName="dg-devs")
    iam.create_group(GroupName="dg-ops")
    iam.add_user_to_group(UserName="dg-alice", GroupName="dg-ops")
    iam.create_instance_profile(InstanceProfileName="dg-app-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="dg-app-profile", RoleName="dg-app-role")
    oidc = iam.create_open_id_connect_provider(Url="https://token.actions.githubusercontent.com",
                                               ClientIDList=["sts.amazonaws.com"],
                                               ThumbprintList=[THUMBPRINT])["OpenIDConnectProviderArn"]
    saml = iam.create_saml_provider(Name="dg-sso", SAMLMetadataDocument=METADATA)["SAMLProviderArn"]
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True,
                                       RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
                                       AllowUsersToChangePassword=True, MaxPasswordAge=90, PasswordReusePrevention=24,
                                       HardExpiry=False)
    arn = lambda kind, name: f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"
    state["resources"] += [
        resource("aws_iam_policy", "read", {
            "arn": read, "id": read, "name": "dg-read", "path": "/", "policy": text(READ), "tags": {}, "tags_all": {}}),
        resource("aws_iam_role", "app", {
            "arn": arn("role", "dg-app-role"), "id": "dg-app-role", "name": "dg-app-role", "name_prefix": "",
            "assume_role_policy": text(TRUST), "description": "", "force_detach_policies": False,
            "inline_policy": [{"name": "dg-inline", "policy": text(LIST)}], "managed_policy_arns": [read],
            "max_session_duration": 3600, "path": "/", "permissions_boundary": "", "tags": {}, "tags_all": {}}),
        resource("aws_iam_role_policy_attachment", "app_read", {
            "id": "dg-app-role-20261205000000000000000001", "role": "dg-app-role", "policy_arn": read}),
        resource("aws_iam_role_policy", "app_inline", {
            "id": "dg-app-role:dg-inline", "name": "dg-inline", "name_prefix": "", "role": "dg-app-role",
            "policy": text(LIST)}),
        resource("aws_iam_user", "alice", {
            "arn": arn("user", "dg-alice"), "id": "dg-alice", "name": "dg-alice", "path": "/", "force_destroy": False,
            "permissions_boundary": "", "tags": {"Team": "platform"}, "tags_all": {"Team": "platform"}}),
        resource("aws_iam_user_policy_attachment", "alice_read", {
            "id": "dg-alice-20261205000000000000000002", "user": "dg-alice", "policy_arn": read}),
        resource("aws_iam_user_policy", "alice_inline", {
            "id": "dg-alice:dg-alice-inline", "name": "dg-alice-inline", "name_prefix": "", "user": "dg-alice",
            "policy": text(LIST)}),
        resource("aws_iam_access_key", "alice", {
            "id": key, "user": "dg-alice", "status": "Active", "secret": SECRET, "ses_smtp_password_v4": SECRET,
            "encrypted_secret": None, "pgp_key": None, "create_date": "2026-12-05T00:00:00Z"}),
        resource("aws_iam_group", "devs", {
            "arn": arn("group", "dg-devs"), "id": "dg-devs", "name": "dg-devs", "path": "/"}),
        resource("aws_iam_group_policy_attachment", "devs_read", {
            "id": "dg-devs-20261205000000000000000003", "group": "dg-devs", "policy_arn": read}),
        resource("aws_iam_group_policy", "devs_inline", {
            "id": "dg-devs:dg-devs-inline", "name": "dg-devs-inline", "name_prefix": "", "group": "dg-devs",
            "policy": text(LIST)}),
        resource("aws_iam_user_group_membership", "alice", {
            "id": "terraform-20261205000000000000000004", "user": "dg-alice", "groups": ["dg-devs"]}),
        resource("aws_iam_group", "ops", {"arn": arn("group", "dg-ops"), "id": "dg-ops", "name": "dg-ops", "path": "/"}),
        resource("aws_iam_group_membership", "ops", {
            "id": "dg-ops-members", "name": "dg-ops-members", "group": "dg-ops", "users": ["dg-alice"]}),
        resource("aws_iam_instance_profile", "app", {
            "arn": arn("instance-profile", "dg-app-profile"), "id": "dg-app-profile", "name": "dg-app-profile",
            "name_prefix": "", "path": "/", "role": "dg-app-role", "tags": {}, "tags_all": {}}),
        resource("aws_iam_openid_connect_provider", "github", {
            "arn": oidc, "id": oidc, "url": "token.actions.githubusercontent.com",
            "client_id_list": ["sts.amazonaws.com"], "thumbprint_list": [THUMBPRINT], "tags": {}, "tags_all": {}}),
        resource("aws_iam_saml_provider", "sso", {
            "arn": saml, "id": saml, "name": "dg-sso", "saml_metadata_document": METADATA, "valid_until": "",
            "tags": {}, "tags_all": {}}),
        resource("aws_iam_account_password_policy", "strict", {
            "id": "iam-account-password-policy", "allow_users_to_change_password": True, "expire_passwords": True,
            "hard_expiry": False, "max_password_age": 90, "minimum_password_length": 14,
            "password_reuse_prevention": 24, "require_lowercase_characters": True, "require_numbers": True,
            "require_symbols": True, "require_uppercase_characters": True}),
    ]
    return {"read": read, "key": key, "oidc": oidc, "saml": saml}


def mutate(client, ids):
    iam = client("iam")
    iam.attach_role_policy(RoleName="dg-app-role", PolicyArn=ADMIN)
    iam.put_role_policy(RoleName="dg-app-role", PolicyName="backdoor", PolicyDocument=json.dumps(EVERYTHING))
    iam.put_role_policy(RoleName="dg-app-role", PolicyName="dg-inline", PolicyDocument=json.dumps(EVERYTHING))
    iam.detach_user_policy(UserName="dg-alice", PolicyArn=ids["read"])
    iam.attach_user_policy(UserName="dg-alice", PolicyArn=ADMIN)
    iam.tag_user(UserName="dg-alice", Tags=[{"Key": "Team", "Value": "intruder"}])
    iam.update_access_key(UserName="dg-alice", AccessKeyId=ids["key"], Status="Inactive")
    iam.remove_user_from_group(UserName="dg-alice", GroupName="dg-ops")
    iam.create_group(GroupName="dg-admins")
    iam.add_user_to_group(UserName="dg-alice", GroupName="dg-admins")
    iam.put_group_policy(GroupName="dg-devs", PolicyName="extra", PolicyDocument=json.dumps(EVERYTHING))
    # Every other kind of IAM drift, one per type.
    iam.detach_role_policy(RoleName="dg-app-role", PolicyArn=ids["read"])
    iam.detach_group_policy(GroupName="dg-devs", PolicyArn=ids["read"])
    iam.put_group_policy(GroupName="dg-devs", PolicyName="dg-devs-inline", PolicyDocument=json.dumps(EVERYTHING))
    iam.delete_user_policy(UserName="dg-alice", PolicyName="dg-alice-inline")
    iam.remove_user_from_group(UserName="dg-alice", GroupName="dg-devs")
    iam.remove_role_from_instance_profile(InstanceProfileName="dg-app-profile", RoleName="dg-app-role")
    iam.update_saml_provider(SAMLProviderArn=ids["saml"], SAMLMetadataDocument=METADATA.replace("idp.example.com", "evil.example.com"))
    iam.update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=False, RequireNumbers=True,
                                       RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
                                       AllowUsersToChangePassword=True, MaxPasswordAge=90, PasswordReusePrevention=24,
                                       HardExpiry=False)
    # moto has no Add/RemoveClientID…: the thumbprint is what can drift here.
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=ids["oidc"],
                                                   ThumbprintList=["0000000000000000000000000000000000000000"])


def snapshot(client):
    iam = client("iam")
    out = {}
    for role in ["dg-app-role"]:
        out["role_attached"] = sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"])
        out["role_inline"] = {n: iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]
                              for n in iam.list_role_policies(RoleName=role)["PolicyNames"]}
    out["user_attached"] = sorted(p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="dg-alice")["AttachedPolicies"])
    out["user_groups"] = sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName="dg-alice")["Groups"])
    out["user_tags"] = iam.list_user_tags(UserName="dg-alice")["Tags"]
    out["keys"] = [{"id": k["AccessKeyId"], "status": k["Status"]} for k in iam.list_access_keys(UserName="dg-alice")["AccessKeyMetadata"]]
    out["group_inline"] = sorted(iam.list_group_policies(GroupName="dg-devs")["PolicyNames"])
    out["group_inline_document"] = iam.get_group_policy(GroupName="dg-devs", PolicyName="dg-devs-inline")["PolicyDocument"]
    out["password_policy"] = iam.get_account_password_policy()["PasswordPolicy"]
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    out["oidc_thumbprints"] = sorted(c for p in providers
                                     for c in iam.get_open_id_connect_provider(OpenIDConnectProviderArn=p["Arn"])["ThumbprintList"])
    return out

